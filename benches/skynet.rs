//! skynet: a 10-ary tree of actors over N leaves, each leaf answering its
//! number and each parent the sum of its children's answers (SPEC §8: ≤ 0.5 ×
//! the time of the tokio-task version).
//!
//! jzx: a `SkyNode { num, size, parent }` actor (benches/common) started
//! with `Start` spawns ten children covering `num + i * size / 10` (size / 10
//! each), sends each `Start`, sums the ten `Sum`s it receives, sends its
//! own `Sum` to its parent and stops. A leaf (size 1) answers `Sum(num)` at
//! once and stops. The root's parent is a `Collector` that records the
//! total. With N = 1,000,000 that is
//! 1,111,111 node actors (each lives from its spawn to its answer).
//!
//! tokio: the same tree of `tokio::spawn`ed tasks on a current-thread runtime,
//! each answering through a `tokio::sync::oneshot` channel its parent made;
//! a parent awaits its ten receivers in order.
//!
//! Measured: from the root's `Start` to the total at the collector; the total
//! is checked (sum of 0..N). N must be a power of ten.
//!
//! `cargo bench --bench skynet -- [--n 1M] [--runs 5] [--smoke]`
mod common;

use common::{Args, Kind, Report, Sky, SkyNode};
use jzx::{Actor, Context, Flow, Loop};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

struct Collector {
    out: Rc<Cell<u64>>,
}

impl Actor for Collector {
    type Msg = Sky;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: Sky) -> Flow {
        match msg {
            Sky::Sum(s) => {
                self.out.set(s);
                Flow::Stop
            }
            Sky::Start => Flow::Continue,
        }
    }
}

fn jzx_run(n: u64) -> f64 {
    let mut lp = Loop::new().expect("loop");
    let out = Rc::new(Cell::new(0));
    let collector = lp.spawn(Collector { out: out.clone() }).expect("spawn");
    let root = lp.spawn(SkyNode::new(0, n, collector)).expect("spawn");
    let start = Instant::now();
    lp.send(root, Sky::Start).expect("send");
    lp.run().expect("run");
    let took = common::secs(start);
    assert_eq!(out.get(), n * (n - 1) / 2, "jzx skynet sum");
    took
}

fn tokio_node(num: u64, size: u64, reply: tokio::sync::oneshot::Sender<u64>) {
    tokio::spawn(async move {
        if size == 1 {
            let _ = reply.send(num);
            return;
        }
        let step = size / 10;
        let mut rxs = Vec::with_capacity(10);
        for i in 0..10 {
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio_node(num + i * step, step, tx);
            rxs.push(rx);
        }
        let mut sum = 0;
        for rx in rxs {
            sum += rx.await.expect("child answers");
        }
        let _ = reply.send(sum);
    });
}

fn tokio_run(n: u64) -> f64 {
    let rt = common::tokio_rt();
    let start = Instant::now();
    let total = rt.block_on(async move {
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio_node(0, n, tx);
        rx.await.expect("root answers")
    });
    let took = common::secs(start);
    assert_eq!(total, n * (n - 1) / 2, "tokio skynet sum");
    took
}

fn main() {
    let args = Args::parse();
    let n = args.n(1_000_000, 1_000);
    let mut p = 1;
    while p < n {
        p *= 10;
    }
    if p != n || n == 0 {
        eprintln!("skynet: --n must be a power of ten");
        std::process::exit(2);
    }
    let actors: u64 = std::iter::successors(Some(n), |&k| (k > 1).then_some(k / 10)).sum();
    let samples = common::alternate(&args, || jzx_run(n), || tokio_run(n));
    Report::new("skynet", Kind::Time, &samples, false, 0.5)
        .param("n", n)
        .param("actors", actors)
        .param("size", std::mem::size_of::<Sky>())
        .print();
}
