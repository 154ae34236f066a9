//! cross_thread: one producer thread sends N messages into a loop (SPEC §8:
//! ≥ 1 × `tokio::sync::mpsc` from a std thread into a current-thread runtime).
//!
//! jzx: a `Sink` actor (default mailbox) on a loop run by the main thread; a
//! `std::thread` sends it `0..N` (`u64`) through `LoopHandle::send`, retrying
//! (after a `yield_now`) a message the loop refuses because its cross-thread
//! bound (`Config::cross_thread_cap`, default 65,536 in flight) is reached.
//! The sink sums and stops after N; `run` returns then.
//!
//! tokio: a task on a current-thread runtime (main thread) receives from an
//! unbounded `tokio::sync::mpsc` channel whose sender is moved to a
//! `std::thread` that sends `0..N` (never blocking, as `LoopHandle::send`).
//!
//! Measured: from the producer's spawn until the consumer has all N and the
//! producer has been joined. Figure: messages/s.
//!
//! Threads: when this process may use two or more CPUs, the consumer (main
//! thread) is pinned to the first allowed CPU and the producer to the second
//! (printed as `pinned=C,P`), so the loop has one core to itself; with one
//! CPU both share it (`pinned=no`).
//!
//! `cargo bench --bench cross_thread -- [--n 5M] [--runs 5] [--smoke]`
mod common;

use common::{Args, Kind, Report, Sink};
use jzx::{Error, Loop};
use std::time::Instant;

fn pin_producer(cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        common::pin_current_thread(cpu);
    }
}

fn jzx_run(n: u64, producer_cpu: Option<usize>) -> f64 {
    let mut lp = Loop::new().expect("loop");
    let (sink, out) = Sink::<u64>::new(n);
    let sink = lp.spawn(sink).expect("spawn");
    let handle = lp.handle();
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        pin_producer(producer_cpu);
        for i in 0..n {
            let mut msg = i;
            while let Err(e) = handle.send(sink, msg) {
                assert_eq!(e.error, Error::MailboxFull, "loop alive");
                msg = e.into_message();
                std::thread::yield_now();
            }
        }
    });
    lp.run().expect("run");
    producer.join().expect("producer");
    let took = common::secs(start);
    assert_eq!(out.get(), n * (n - 1) / 2, "jzx sink sum");
    took
}

fn tokio_run(n: u64, producer_cpu: Option<usize>) -> f64 {
    let rt = common::tokio_rt();
    let start = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let producer = std::thread::spawn(move || {
        pin_producer(producer_cpu);
        for i in 0..n {
            tx.send(i).expect("consumer alive");
        }
    });
    let sum = rt.block_on(async move {
        tokio::spawn(async move {
            let mut sum = 0u64;
            for _ in 0..n {
                sum = sum.wrapping_add(rx.recv().await.expect("producer sends n"));
            }
            sum
        })
        .await
        .expect("consumer")
    });
    producer.join().expect("producer");
    let took = common::secs(start);
    assert_eq!(sum, n * (n - 1) / 2, "tokio consumer sum");
    took
}

fn main() {
    let args = Args::parse();
    let n = args.n(5_000_000, 10_000).max(1);
    common::cores(); // read before pinning the main thread
    let cpus = common::allowed_cpus();
    let (pinned, producer_cpu) = if cpus.len() >= 2 && common::pin_current_thread(cpus[0]) {
        (format!("{},{}", cpus[0], cpus[1]), Some(cpus[1]))
    } else {
        ("no".to_string(), None)
    };
    let samples = common::alternate(
        &args,
        || jzx_run(n, producer_cpu),
        || tokio_run(n, producer_cpu),
    );
    Report::new(
        "cross_thread",
        Kind::Rate {
            count: n as f64,
            unit: "/s",
        },
        &samples,
        true,
        1.0,
    )
    .param("n", n)
    .param("size", std::mem::size_of::<u64>())
    .param("pinned", pinned)
    .print();
}
