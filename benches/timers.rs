//! timers: N timers armed, all fired (SPEC §8: ≥ 1 × `tokio::time::sleep`
//! tasks, i.e. jzx's time until all fired ≤ tokio's).
//!
//! Delays: timer i waits `1 + (i * 7919) % SPREAD` ms (`--spread`, default
//! 1000; 10 with `--smoke`): every delay from 1 to SPREAD ms, in a scrambled
//! order, so deadlines are not armed in firing order and about N / SPREAD
//! timers fall due each millisecond. A runtime that keeps up finishes about
//! when the last deadline passes (arming time + SPREAD ms); the time beyond
//! that is its own cost of ordering and delivering. With `--spread 10`,
//! arming 1 M timers takes longer than the spread, so the figure becomes
//! the pure cost of arming, ordering and delivering N timers.
//!
//! jzx: `Loop::send_after(sink, delay_i, i)` N times from outside the loop
//! (arming), then `run`: one `Sink` actor receives the N timer messages (`u32`)
//! and stops after the last; `run` returns then.
//!
//! tokio: inside `block_on` on a current-thread runtime, N tasks
//! `tokio::spawn(async move { sleep(delay_i).await; tx.send(i) })` (arming;
//! `tokio::time::sleep`, the baseline SPEC §8 names and what a user writes),
//! each sending to one unbounded `tokio::sync::mpsc` channel that the
//! `block_on` future drains N times. A task's sleep starts when the task
//! first runs, after the arming loop: that delay is part of what a tokio user
//! pays. (With `sleep_until(base + delay_i)` and one `base` read before
//! arming, which favours tokio, the ratio measured 1.02–1.04.)
//!
//! Measured: from the first timer armed to the last message received
//! (`jzx=`/`tokio=`); the arming alone is `jzx_arm`/`tokio_arm`.
//!
//! `cargo bench --bench timers -- [--n 1M] [--spread 1000] [--runs 5] [--smoke]`
mod common;

use common::{Args, Kind, Report, Sink};
use jzx::Loop;
use std::time::{Duration, Instant};

fn delay_ms(i: u64, spread: u64) -> u64 {
    1 + (i * 7919) % spread
}

/// (arming, total) in seconds.
type Run = (f64, f64);

fn jzx_run(n: u64, spread: u64) -> Run {
    let mut lp = Loop::new().expect("loop");
    let (sink, out) = Sink::<u32>::new(n);
    let sink = lp.spawn(sink).expect("spawn");
    let start = Instant::now();
    for i in 0..n {
        let delay = Duration::from_millis(delay_ms(i, spread));
        lp.send_after(sink, delay, i as u32).expect("sink alive");
    }
    let arm = common::secs(start);
    lp.run().expect("run");
    let total = common::secs(start);
    assert_eq!(out.get(), n * (n - 1) / 2, "jzx timer messages");
    (arm, total)
}

fn tokio_run(n: u64, spread: u64) -> Run {
    let rt = common::tokio_rt();
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let start = Instant::now();
        for i in 0..n {
            // `sleep(delay)`, the baseline SPEC §8 names, like send_after:
            // relative to when it is armed.
            let delay = Duration::from_millis(delay_ms(i, spread));
            let tx = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = tx.send(i as u32);
            });
        }
        drop(tx);
        let arm = common::secs(start);
        let mut sum = 0u64;
        for _ in 0..n {
            sum += u64::from(rx.recv().await.expect("every timer fires"));
        }
        let total = common::secs(start);
        assert_eq!(sum, n * (n - 1) / 2, "tokio timer messages");
        (arm, total)
    })
}

fn main() {
    let args = Args::parse();
    let n = args.n(1_000_000, 1_000).clamp(1, u64::from(u32::MAX));
    let spread = args
        .value("spread", if args.smoke { 10 } else { 1000 })
        .max(1);
    let mut jzx_arm = Vec::new();
    let mut tokio_arm = Vec::new();
    let samples = common::alternate(
        &args,
        || {
            let (arm, total) = jzx_run(n, spread);
            jzx_arm.push(arm);
            total
        },
        || {
            let (arm, total) = tokio_run(n, spread);
            tokio_arm.push(arm);
            total
        },
    );
    let med = |v: &[f64]| common::ms(common::median_measured(&args, v));
    Report::new("timers", Kind::Time, &samples, false, 1.0)
        .param("n", n)
        .param("size", std::mem::size_of::<u32>())
        .param("spread_ms", spread)
        .extra("jzx_arm", med(&jzx_arm))
        .extra("tokio_arm", med(&tokio_arm))
        .print();
}
