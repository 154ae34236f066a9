//! tell: one sender, one receiver on the same loop (SPEC §8: ≥ 3 × two tokio
//! tasks over `tokio::sync::mpsc`, and ≥ 25 M msgs/s).
//!
//! jzx: a `Sender` actor sends N `u64` messages to a `Receiver` actor with the
//! default mailbox capacity (1024). On each `Go` it sends up to `--batch`
//! (default 512) messages, stopping early when the receiver's mailbox is full
//! (the refused message comes back and is kept for the next batch), then sends
//! itself the next `Go`: the backpressure a user writes against a bounded
//! mailbox. The receiver sums what it gets and stops after N; the sender stops
//! after its last message; `run` returns when both have stopped.
//!
//! tokio: two spawned tasks on a current-thread runtime over a bounded
//! `tokio::sync::mpsc::channel(1024)`: the sender `send(i).await`s N times,
//! the receiver `recv().await`s until the channel closes.
//!
//! Measured: from the first send to the end of the run; figure: messages/s.
//!
//! `cargo bench --bench tell -- [--n 10M] [--runs 5] [--batch 512] [--smoke]`
mod common;

use common::{Args, Go, Kind, Report, Sender, Sink};
use jzx::Loop;
use std::hint::black_box;
use std::time::Instant;

const CAP: usize = 1024;

fn jzx_run(n: u64, batch: u64) -> f64 {
    let mut lp = Loop::new().expect("loop");
    let (sink, out) = Sink::<u64>::new(n);
    let rx = lp.spawn(sink).expect("spawn");
    let tx = lp.spawn(Sender::new(rx, n, batch)).expect("spawn");
    let start = Instant::now();
    lp.send(tx, Go).expect("send");
    lp.run().expect("run");
    let took = common::secs(start);
    assert_eq!(out.get(), n * (n - 1) / 2, "jzx receiver sum");
    took
}

fn tokio_run(n: u64) -> f64 {
    let rt = common::tokio_rt();
    let start = Instant::now();
    let sum = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let sender = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.expect("receiver alive");
            }
        });
        let receiver = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        sender.await.expect("sender");
        receiver.await.expect("receiver")
    });
    let took = common::secs(start);
    assert_eq!(black_box(sum), n * (n - 1) / 2, "tokio receiver sum");
    took
}

fn main() {
    let args = Args::parse();
    let n = args.n(10_000_000, 10_000).max(1);
    let batch = args.value("batch", 512).max(1);
    let samples = common::alternate(&args, || jzx_run(n, batch), || tokio_run(n));
    let report = Report::new(
        "tell",
        Kind::Rate {
            count: n as f64,
            unit: "/s",
        },
        &samples,
        true,
        3.0,
    );
    let rate_ok = report.jzx_median() >= 25e6;
    report
        .param("n", n)
        .param("size", std::mem::size_of::<u64>())
        .param("cap", CAP)
        .param("batch", batch)
        .check("25M/s", rate_ok)
        .print();
}
