//! spawn: N idle actors (SPEC §8: ≤ 0.5 × the time of spawning tokio tasks
//! that wait on a channel; ≤ 256 B per idle actor; 1 M live actors).
//!
//! jzx: `Loop::spawn` of N `Idle { id: u64 }` actors (default options) from
//! outside the loop; spawning does not run them (R7), so each is at once an
//! idle actor waiting for a message. Then each is sent `()`, handles it and
//! stops; `run` returns when all have stopped (the "finish" figure).
//!
//! tokio: inside `block_on` on a current-thread runtime, N times
//! `oneshot::channel()` + `tokio::spawn(async move { rx.await; id })`, keeping
//! the senders. The timed figure is the spawn calls alone (the strict
//! comparison: the tasks have not been polled yet); `tokio_to_idle` adds the
//! first poll of every task, after which each really waits on its channel.
//! Then each sender sends `()` and the tasks finish ("finish").
//!
//! Both sides keep one 8-byte handle per actor/task in a `Vec` allocated
//! beforehand (`Addr<()>`, `oneshot::Sender<()>`).
//!
//! Memory is measured in a fresh child process per side (this binary run
//! with `--mem jzx|tokio`), so freed memory of earlier runs cannot hide it:
//! `mem` is the growth of VmRSS from before the first spawn to when all N are
//! idle, less the handle `Vec`, divided by N; `heap` counts the bytes
//! allocated and not freed over the same span (a counting global allocator,
//! switched on only in the child), divided by N: the runtime's own bytes per
//! idle actor, without the allocator's overhead.
//!
//! `cargo bench --bench spawn -- [--n 1M] [--runs 5] [--smoke]`
mod common;

use common::{Args, Kind, Report};
use jzx::{Actor, Context, Flow, Loop};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

// ------------------------------------------------------- counting allocator

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live bytes while `COUNTING` is on.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        }
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ------------------------------------------------------------------- actors

struct Idle {
    id: u64,
}

impl Actor for Idle {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        black_box(self.id);
        Flow::Stop
    }
}

/// What one run measured, in seconds (and memory, in the child).
#[derive(Debug, Default, Clone, Copy)]
struct Run {
    spawn: f64,
    to_idle: f64,
    finish: f64,
    live: usize,
}

/// Snapshot for the memory probe: (VmRSS, live heap bytes).
fn mem_now() -> (Option<u64>, isize) {
    (common::rss_bytes(), LIVE_BYTES.load(Relaxed))
}

fn print_mem(
    side: &str,
    n: u64,
    handle_size: usize,
    before: (Option<u64>, isize),
    after: (Option<u64>, isize),
) {
    let handles = n * handle_size as u64;
    let rss = match (before.0, after.0) {
        (Some(b), Some(a)) => format!(
            "{:.1}",
            (a.saturating_sub(b).saturating_sub(handles)) as f64 / n as f64
        ),
        _ => "n/a".into(),
    };
    let heap = (after.1 - before.1) as f64 / n as f64;
    println!("MEM side={side} rss={rss} heap={heap:.1}");
}

fn jzx_run(n: u64, probe: bool) -> Run {
    let mut lp = Loop::new().expect("loop");
    let mut addrs = Vec::with_capacity(n as usize);
    let before = mem_now();
    let start = Instant::now();
    for id in 0..n {
        addrs.push(lp.spawn(Idle { id }).expect("spawn"));
    }
    let spawn = common::secs(start);
    let live = lp.actor_count();
    if probe {
        print_mem(
            "jzx",
            n,
            std::mem::size_of_val(&addrs[0]),
            before,
            mem_now(),
        );
    }
    let start = Instant::now();
    for a in addrs.drain(..) {
        lp.send(a, ()).expect("send");
    }
    lp.run().expect("run");
    let finish = common::secs(start);
    assert_eq!(lp.actor_count(), 0);
    Run {
        spawn,
        to_idle: spawn,
        finish,
        live,
    }
}

static STARTED: AtomicUsize = AtomicUsize::new(0);
static DONE: AtomicUsize = AtomicUsize::new(0);

fn tokio_run(n: u64, probe: bool) -> Run {
    let rt = common::tokio_rt();
    STARTED.store(0, Relaxed);
    DONE.store(0, Relaxed);
    rt.block_on(async move {
        let n = n as usize;
        let mut txs = Vec::with_capacity(n);
        let before = mem_now();
        let start = Instant::now();
        for id in 0..n as u64 {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                STARTED.fetch_add(1, Relaxed);
                if rx.await.is_ok() {
                    black_box(id);
                }
                DONE.fetch_add(1, Relaxed);
            });
            txs.push(tx);
        }
        let spawn = common::secs(start);
        while STARTED.load(Relaxed) < n {
            tokio::task::yield_now().await;
        }
        let to_idle = common::secs(start);
        let live = STARTED.load(Relaxed) - DONE.load(Relaxed);
        if probe {
            print_mem(
                "tokio",
                n as u64,
                std::mem::size_of_val(&txs[0]),
                before,
                mem_now(),
            );
        }
        let start = Instant::now();
        for tx in txs.drain(..) {
            tx.send(()).expect("task waits");
        }
        while DONE.load(Relaxed) < n {
            tokio::task::yield_now().await;
        }
        let finish = common::secs(start);
        Run {
            spawn,
            to_idle,
            finish,
            live,
        }
    })
}

/// Runs this binary with `--mem SIDE` and parses its `MEM` line:
/// (rss B/actor, heap B/actor).
fn probe_child(side: &str, n: u64) -> (String, String) {
    let na = || ("n/a".to_string(), "n/a".to_string());
    let Ok(exe) = std::env::current_exe() else {
        return na();
    };
    let out = std::process::Command::new(exe)
        .args(["--mem", side, "--n", &n.to_string()])
        .output();
    let Ok(out) = out else { return na() };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("MEM ")) else {
        eprintln!(
            "memory probe {side} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return na();
    };
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or("n/a")
            .to_string()
    };
    (field("rss="), field("heap="))
}

fn main() {
    let args = Args::parse();
    let n = args.n(1_000_000, 10_000).max(1);
    if let Some(side) = args.string("mem") {
        // The child: one probed run on a fresh heap.
        COUNTING.store(true, Relaxed);
        match side {
            "jzx" => jzx_run(n, true),
            "tokio" => tokio_run(n, true),
            other => panic!("--mem {other}: jzx or tokio"),
        };
        return;
    }

    let mut jzx_runs = Vec::new();
    let mut tokio_runs = Vec::new();
    let samples = common::alternate(
        &args,
        || {
            let r = jzx_run(n, false);
            jzx_runs.push(r);
            r.spawn
        },
        || {
            let r = tokio_run(n, false);
            tokio_runs.push(r);
            r.spawn
        },
    );
    let med = |runs: &[Run], f: fn(&Run) -> f64| {
        let v: Vec<f64> = runs.iter().map(f).collect();
        common::median_measured(&args, &v)
    };
    let live = jzx_runs.iter().map(|r| r.live).min().unwrap_or(0);
    let tokio_live = tokio_runs.iter().map(|r| r.live).min().unwrap_or(0);
    let probe = |side: &str| match args.only.as_deref() {
        Some(only) if only != side => ("n/a".to_string(), "n/a".to_string()),
        _ => probe_child(side, n),
    };
    let (jzx_rss, jzx_heap) = probe("jzx");
    let (tokio_rss, tokio_heap) = probe("tokio");
    let mem_ok = jzx_rss.parse::<f64>().is_ok_and(|b| b <= 256.0);
    Report::new("spawn", Kind::Time, &samples, false, 0.5)
        .param("n", n)
        .param("size", std::mem::size_of::<()>())
        .extra("jzx_mem", format!("{jzx_rss}B"))
        .extra("jzx_heap", format!("{jzx_heap}B"))
        .extra("tokio_mem", format!("{tokio_rss}B"))
        .extra("tokio_heap", format!("{tokio_heap}B"))
        .extra("live", live)
        .extra("tokio_live", tokio_live)
        .extra("tokio_to_idle", common::ms(med(&tokio_runs, |r| r.to_idle)))
        .extra("jzx_finish", common::ms(med(&jzx_runs, |r| r.finish)))
        .extra("tokio_finish", common::ms(med(&tokio_runs, |r| r.finish)))
        .check("256B", mem_ok)
        .check("1M_live", live >= 1_000_000)
        .print();
}
