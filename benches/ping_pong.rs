//! ping_pong: two actors bounce one message (SPEC §8: ≥ 3 × the tokio-task
//! equivalent).
//!
//! jzx: two `Player` actors on one loop, each knowing the other's address.
//! The pinger sends `Ball(k)`, the ponger returns it, the pinger sends
//! `Ball(k + 1)`; after N round trips both stop. One message is in flight at
//! any time.
//!
//! tokio: two spawned tasks on a current-thread runtime with two bounded
//! `tokio::sync::mpsc` channels (capacity 1): the pinger sends `k` and awaits
//! the answer, N times; the ponger answers each message it receives.
//!
//! Measured: from the first send to the end of the run; figure: round trips/s
//! (two messages each).
//!
//! `cargo bench --bench ping_pong -- [--n 5M] [--runs 5] [--smoke]`
mod common;

use common::{Args, Kind, Report};
use jzx::{Actor, Addr, Context, Flow, Loop};
use std::time::Instant;

enum Msg {
    Peer(Addr<Msg>),
    Ball(u64),
}

struct Player {
    peer: Option<Addr<Msg>>,
    /// The pinger counts round trips up to `rounds`; the ponger has 0.
    rounds: u64,
}

impl Actor for Player {
    type Msg = Msg;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Msg) -> Flow {
        match msg {
            Msg::Peer(p) => {
                self.peer = Some(p);
                Flow::Continue
            }
            Msg::Ball(k) => {
                let peer = self.peer.expect("peer set first");
                if self.rounds == 0 {
                    // The ponger: answer.
                    cx.send(peer, Msg::Ball(k)).expect("pinger alive");
                    Flow::Continue
                } else if k + 1 >= self.rounds {
                    // The pinger got the last answer.
                    cx.stop_actor(peer.id()).expect("ponger alive");
                    Flow::Stop
                } else {
                    cx.send(peer, Msg::Ball(k + 1)).expect("ponger alive");
                    Flow::Continue
                }
            }
        }
    }
}

fn jzx_run(n: u64) -> f64 {
    let mut lp = Loop::new().expect("loop");
    let pong = lp
        .spawn(Player {
            peer: None,
            rounds: 0,
        })
        .expect("spawn");
    let ping = lp
        .spawn(Player {
            peer: Some(pong),
            rounds: n,
        })
        .expect("spawn");
    lp.send(pong, Msg::Peer(ping)).expect("send");
    let start = Instant::now();
    lp.send(pong, Msg::Ball(0)).expect("send");
    lp.run().expect("run");
    common::secs(start)
}

fn tokio_run(n: u64) -> f64 {
    let rt = common::tokio_rt();
    let start = Instant::now();
    let last = rt.block_on(async move {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let ponger = tokio::spawn(async move {
            while let Some(k) = ping_rx.recv().await {
                if pong_tx.send(k).await.is_err() {
                    break;
                }
            }
        });
        let pinger = tokio::spawn(async move {
            let mut last = 0;
            for k in 0..n {
                ping_tx.send(k).await.expect("ponger alive");
                last = pong_rx.recv().await.expect("ponger alive");
            }
            last
        });
        let last = pinger.await.expect("pinger");
        ponger.await.expect("ponger");
        last
    });
    let took = common::secs(start);
    assert_eq!(last, n - 1, "tokio last ball");
    took
}

fn main() {
    let args = Args::parse();
    let n = args.n(5_000_000, 10_000).max(1);
    let samples = common::alternate(&args, || jzx_run(n), || tokio_run(n));
    Report::new(
        "ping_pong",
        Kind::Rate {
            count: n as f64,
            unit: "/s",
        },
        &samples,
        true,
        3.0,
    )
    .param("n", n)
    .param("size", std::mem::size_of::<Msg>())
    .print();
}
