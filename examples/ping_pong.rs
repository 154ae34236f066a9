//! Two actors bounce a counter back and forth, then both stop.
//!
//! Run with `cargo run --example ping_pong [ROUNDS]`.
use jzx::{Actor, Addr, Context, Flow, Loop};

/// A player's message: who to answer, or the ball with the rounds left.
enum Msg {
    Partner(Addr<Msg>),
    Ball(u64),
}

struct Player {
    name: &'static str,
    partner: Option<Addr<Msg>>,
    hits: u64,
}

impl Actor for Player {
    type Msg = Msg;

    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Msg) -> Flow {
        match msg {
            Msg::Partner(p) => {
                self.partner = Some(p);
                Flow::Continue
            }
            Msg::Ball(0) => {
                // Last ball: tell the partner to stop too, then stop.
                println!(
                    "{} took the last ball after {} hits",
                    self.name,
                    self.hits + 1
                );
                if let Some(p) = self.partner {
                    let _ = cx.stop_actor(p.id());
                }
                Flow::Stop
            }
            Msg::Ball(left) => {
                self.hits += 1;
                let partner = self.partner.expect("partner set before the first ball");
                // The mailbox of a partner that is alive cannot be full here:
                // exactly one ball is in flight.
                cx.send(partner, Msg::Ball(left - 1))
                    .expect("partner alive");
                Flow::Continue
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let mut lp = Loop::new()?;
    let ping = lp.spawn(Player {
        name: "ping",
        partner: None,
        hits: 0,
    })?;
    let pong = lp.spawn(Player {
        name: "pong",
        partner: None,
        hits: 0,
    })?;
    lp.send(ping, Msg::Partner(pong))?;
    lp.send(pong, Msg::Partner(ping))?;
    lp.send(ping, Msg::Ball(rounds))?;

    let start = std::time::Instant::now();
    lp.run()?; // returns when both players have stopped
    let took = start.elapsed();
    println!(
        "{rounds} bounces in {took:?} ({:.1} M msgs/s) on {}",
        rounds as f64 / took.as_secs_f64() / 1e6,
        lp.backend()
    );
    Ok(())
}
