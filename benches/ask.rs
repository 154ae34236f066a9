//! ask: request/reply round trips, one ask in flight (target: ≥ 3 × tokio's
//! request/response over an mpsc channel carrying a oneshot).
//!
//! jzx: a `Client` and a `Server` actor on one loop. The client asks the
//! server with `Context::ask(server, 1 s, |reply| (k, reply), Got)`: the
//! request `(k, ReplyTo<u64>)` goes to the server, which replies `k` at once
//! with `ReplyTo::reply`; the answer comes back to the client as
//! `Got(Answer::Reply(k))`, and the client asks for `k + 1`. After N round
//! trips the client stops both. The 1 s timeout never fires, but each ask
//! arms its timer and the reply cancels it, so the timer path is part of
//! what is measured, as it is in any real ask.
//!
//! tokio: two spawned tasks on a current-thread runtime. The server receives
//! `(u64, oneshot::Sender<u64>)` from a bounded `tokio::sync::mpsc` channel
//! (capacity 1) and sends `k` back on the oneshot at once; the client makes a
//! `oneshot::channel`, sends `(k, tx)` and awaits
//! `tokio::time::timeout(1 s, rx)`, N times (what a tokio user writes for a
//! request with a timeout: a timer entry armed and dropped per request).
//!
//! Measured: from the first request sent to the last answer received;
//! figure: round trips/s (a request and its answer each).
//!
//! `cargo bench --bench ask -- [--n 2M] [--runs 5] [--smoke] [--only jzx|tokio]`
mod common;

use common::{Args, Kind, Report};
use jzx::{Actor, Addr, Answer, Context, Flow, Loop, ReplyTo};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The timeout of every request, on both sides.
const TIMEOUT: Duration = Duration::from_secs(1);

/// A request: a number and the handle to answer it.
type Req = (u64, ReplyTo<u64>);

/// Replies to each request with its number, at once.
struct Server;

impl Actor for Server {
    type Msg = Req;
    fn handle(&mut self, cx: &mut Context<'_, Self>, (k, reply): Req) -> Flow {
        reply.reply(cx, k);
        Flow::Continue
    }
}

enum ClientMsg {
    Go,
    Got(Answer<u64>),
}

/// Asks the server `rounds` times, one ask at a time.
struct Client {
    server: Addr<Req>,
    rounds: u64,
    /// The number of the ask in flight.
    k: u64,
    /// The last reply, for the run to check.
    last: Rc<Cell<u64>>,
}

impl Client {
    fn ask(&mut self, cx: &mut Context<'_, Self>) {
        let k = self.k;
        cx.ask(self.server, TIMEOUT, |reply| (k, reply), ClientMsg::Got)
            .map_err(|e| e.error)
            .expect("server alive, mailbox has room");
    }
}

impl Actor for Client {
    type Msg = ClientMsg;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: ClientMsg) -> Flow {
        match msg {
            ClientMsg::Go => {
                self.ask(cx);
                Flow::Continue
            }
            ClientMsg::Got(answer) => {
                let v = match answer {
                    Answer::Reply(v) => v,
                    other => panic!("ask {}: {other:?}", self.k),
                };
                assert_eq!(v, self.k, "reply to ask {}", self.k);
                self.last.set(v);
                self.k += 1;
                if self.k >= self.rounds {
                    cx.stop_actor(self.server.id()).expect("server alive");
                    Flow::Stop
                } else {
                    self.ask(cx);
                    Flow::Continue
                }
            }
        }
    }
}

fn jzx_run(n: u64) -> f64 {
    let mut lp = Loop::new().expect("loop");
    let server = lp.spawn(Server).expect("spawn");
    let last = Rc::new(Cell::new(u64::MAX));
    let client = lp
        .spawn(Client {
            server,
            rounds: n,
            k: 0,
            last: last.clone(),
        })
        .expect("spawn");
    let start = Instant::now();
    lp.send(client, ClientMsg::Go).expect("send");
    lp.run().expect("run");
    let took = common::secs(start);
    assert_eq!(last.get(), n - 1, "jzx last reply");
    took
}

fn tokio_run(n: u64) -> f64 {
    use tokio::sync::{mpsc, oneshot};
    let rt = common::tokio_rt();
    let start = Instant::now();
    let last = rt.block_on(async move {
        let (req_tx, mut req_rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(1);
        let server = tokio::spawn(async move {
            while let Some((k, reply)) = req_rx.recv().await {
                let _ = reply.send(k);
            }
        });
        let client = tokio::spawn(async move {
            let mut last = u64::MAX;
            for k in 0..n {
                let (tx, rx) = oneshot::channel();
                req_tx.send((k, tx)).await.expect("server alive");
                let v = tokio::time::timeout(TIMEOUT, rx)
                    .await
                    .unwrap_or_else(|_| panic!("ask {k}: timeout"))
                    .expect("server replied");
                assert_eq!(v, k, "reply to ask {k}");
                last = v;
            }
            last
        });
        let last = client.await.expect("client");
        server.await.expect("server");
        last
    });
    let took = common::secs(start);
    assert_eq!(last, n - 1, "tokio last reply");
    took
}

fn main() {
    let args = Args::parse();
    let n = args.n(2_000_000, 10_000).max(1);
    let samples = common::alternate(&args, || jzx_run(n), || tokio_run(n));
    Report::new(
        "ask",
        Kind::Rate {
            count: n as f64,
            unit: "/s",
        },
        &samples,
        true,
        3.0,
    )
    .param("n", n)
    .param("timeout_ms", TIMEOUT.as_millis())
    .print();
}
