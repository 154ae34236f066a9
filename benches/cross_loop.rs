//! cross_loop: sends between the loops of a [`Runtime`] (SPEC §11, issue #14
//! item 5), three cases, each against its baseline in the same process, each
//! printing one `BENCH cross_loop_<case>` line:
//!
//! - `tell` (target ≥ 3 × tokio): a `Sender` actor on loop 0 sends N `u64`
//!   to a `Sink` on loop 1 (default mailbox, 1024), as benches/tell.rs
//!   does on one loop: on each `Go` up to `--batch` (512) sends, stopping at
//!   the first refusal (the ring of the pair of loops, or loop 1's
//!   cross-thread bound, is full), whose message it keeps for its next turn,
//!   then `Go` to itself. tokio: two tasks over `mpsc::channel(1024)` on a
//!   multi-thread runtime of two workers.
//! - `ping_pong` (target ≥ 2 × tokio): two `Player` actors, on loops 0 and 1,
//!   bounce one message N times (N round trips). tokio: two tasks, two
//!   `mpsc::channel(1)`, on a multi-thread runtime of two workers.
//! - `skynet` (target: 2-loop time ≤ 0.65 × the 1-loop time): the tree of
//!   benches/skynet.rs (N leaves, 10-ary, 1,111,111 actors for N = 1 M) on a
//!   runtime of two loops, against the same on a runtime of one loop. The
//!   root (loop 0) has its ten children spawned before the run, child `i` on
//!   loop `i mod loops` (`Runtime::spawn_on`); each grows its subtree on its
//!   own loop, and the sums of the children on loop 1 come back across.
//!
//! tokio's scheduler decides which worker runs a task, and a task woken from
//! a worker is queued on that worker (its LIFO slot), so two tasks that wake
//! each other tend to end up on one worker. What it did is measured in a
//! side run after the measured ones: each task records its thread every
//! 1024 messages, and `tokio_same_worker=` is the share of those samples
//! where both were on the same thread. So that the baseline is honest either
//! way, tell and ping_pong also run a variant that cannot share a thread:
//! two tokio current-thread runtimes on two threads, one task each, the same
//! channels between them (`split=` figures, and `ratio_split=`; the split
//! ping-pong, which parks a thread at every message, makes N/20 round
//! trips, its time scaled to N); the target
//! is checked against the multi-thread runtime, as issue #14 states it.
//!
//! Threads: a runtime of two loops runs them on two threads (the calling
//! thread waits in `Runtime::run`). With `--pin 1`, loop `i` is pinned to the
//! `i`-th CPU the process may use (`RuntimeConfig::pin`), and so are the
//! tokio workers (in the order they start) and the split variant's threads;
//! default: no pinning, the kernel places all threads (`pin=no`).
//!
//! Measured: each run builds its runtime(s) and actors or tasks outside the
//! timed span; from the start of the run (`Runtime::run`; tokio's
//! `block_on`, or the release of the split threads) until the last message
//! was handled and the run has returned; figure: messages/s (tell), round
//! trips/s (ping_pong), ms (skynet). Each case runs its sides alternately,
//! the order rotating each round, after one unmeasured warm-up of each.
//! `--only jzx` runs the 2-loop jzx side alone, `--only tokio` the
//! baselines (for skynet: the 1-loop run).
//!
//! Floor (ping_pong and tell): two bare threads bouncing a value through
//! two cache lines, pinned as the others (`floor=`, round trips/s): what
//! moving a message between these two CPUs costs at least, whatever the
//! runtime. On this VM it moves between ~0.2 and ~10 M round trips/s with
//! where the host runs the two vCPUs, which is why only figures of one
//! process are compared; tell prints it as the phase the run was in (N/10
//! round trips, scaled).
//!
//! `--diag 1` prints, for every jzx run, each loop's CPU time, the times it
//! blocked and its turns (to stderr).
//!
//! `cargo bench --bench cross_loop -- [--case tell|ping_pong|skynet] [--n N]
//! [--batch 512] [--pin 0|1] [--runs 5] [--smoke] [--only jzx|tokio]
//! [--diag 1]`
mod common;

use common::{Args, Go, Kind, Report, Samples, Sender, Sink, Sky, SkyNode, Stats, Sums};
use jzx::{Actor, Addr, Context, Flow, Runtime, RuntimeConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread::ThreadId;
use std::time::Instant;

/// The mailbox capacity (jzx's default) and tokio's channel bound in tell.
const CAP: usize = 1024;

/// The split ping-pong baseline makes this share of N round trips (see
/// `main`).
const SPLIT_PING_PONG_PART: u64 = 20;

/// A tokio task records its thread once every this many messages in the
/// side run that tells which workers tokio used.
const PROBE_EVERY: u64 = 1024;

// ---------------------------------------------------------------- runtimes

/// A jzx runtime of `loops` loops, pinned or not.
fn jzx_runtime(loops: usize, pin: bool) -> Runtime {
    Runtime::with_config(RuntimeConfig {
        loops,
        pin,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

/// `--diag 1`: each jzx run prints, per loop, what its thread did.
static DIAG: AtomicBool = AtomicBool::new(false);

/// What a loop's thread has done so far: CPU time (ns), voluntary context
/// switches (the times it blocked) and the loop's turns.
fn loop_usage(rt: &Runtime, index: usize) -> [u64; 3] {
    rt.on_loop(index, |lp| {
        let read =
            |f: &str| std::fs::read_to_string(format!("/proc/thread-self/{f}")).unwrap_or_default();
        let cpu = read("schedstat")
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok());
        let status = read("status");
        let blocked = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok());
        [cpu.unwrap_or(0), blocked.unwrap_or(0), lp.metrics().turns]
    })
    .expect("loop")
}

/// Runs `rt` and returns the seconds it took; with `--diag 1`, also prints
/// each loop's CPU time over the run, the times it blocked and its turns.
fn run_timed(rt: &mut Runtime) -> f64 {
    let diag = DIAG.load(Ordering::Relaxed);
    let before: Vec<_> = (0..rt.loops())
        .filter(|_| diag)
        .map(|i| loop_usage(rt, i))
        .collect();
    let start = Instant::now();
    rt.run().expect("run");
    let took = common::secs(start);
    for (i, b) in before.iter().enumerate() {
        let a = loop_usage(rt, i);
        eprintln!(
            "diag: loop {i}: cpu {:.1} ms ({:.0}% of {:.1} ms), blocked {} times, {} turns",
            (a[0] - b[0]) as f64 / 1e6,
            (a[0] - b[0]) as f64 / 1e9 / took * 100.0,
            took * 1e3,
            a[1] - b[1],
            a[2] - b[2]
        );
    }
    took
}

/// A tokio multi-thread runtime of two workers (I/O and time drivers
/// enabled, as `#[tokio::main]` builds it); with `pin`, the `i`-th worker
/// to start is pinned to `cpus[i mod len]`.
fn tokio_mt(pin: Option<&[usize]>) -> tokio::runtime::Runtime {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(2).enable_all();
    if let Some(cpus) = pin {
        let cpus = cpus.to_vec();
        let started = AtomicUsize::new(0);
        b.on_thread_start(move || {
            let i = started.fetch_add(1, Ordering::Relaxed);
            common::pin_current_thread(cpus[i % cpus.len()]);
        });
    }
    b.build().expect("tokio runtime")
}

/// Runs `a` and `b` each on a thread of its own (pinned to `cpus[0]` and
/// `cpus[1]` if given). Each first prepares, untimed, the work it returns;
/// both works are released at once. Returns the seconds from the first start
/// to the last end as the two threads read the clock (the calling thread,
/// which may have to wait for a CPU, takes no part in the timing).
fn two_threads<A, B, RA, RB>(pin: Option<&[usize]>, a: A, b: B) -> f64
where
    A: FnOnce() -> RA + Send + 'static,
    B: FnOnce() -> RB + Send + 'static,
    RA: FnOnce(),
    RB: FnOnce(),
{
    let go = Arc::new(Barrier::new(2));
    fn thread<P: FnOnce() -> R + Send + 'static, R: FnOnce()>(
        cpu: Option<usize>,
        go: Arc<Barrier>,
        prepare: P,
    ) -> std::thread::JoinHandle<(Instant, Instant)> {
        std::thread::spawn(move || {
            if let Some(cpu) = cpu {
                common::pin_current_thread(cpu);
            }
            let work = prepare();
            go.wait();
            let start = Instant::now();
            work();
            (start, Instant::now())
        })
    }
    let ta = thread(pin.map(|c| c[0]), go.clone(), a);
    let tb = thread(pin.map(|c| c[1 % c.len()]), go, b);
    let (sa, ea) = ta.join().expect("thread a");
    let (sb, eb) = tb.join().expect("thread b");
    ea.max(eb).duration_since(sa.min(sb)).as_secs_f64()
}

/// Runs the futures `a` and `b` on two threads (as [`two_threads`]), each on
/// a tokio current-thread runtime of its own.
fn tokio_split<FA, FB>(pin: Option<&[usize]>, a: FA, b: FB) -> f64
where
    FA: std::future::Future<Output = ()> + Send + 'static,
    FB: std::future::Future<Output = ()> + Send + 'static,
{
    two_threads(
        pin,
        move || {
            let rt = common::tokio_rt();
            move || rt.block_on(a)
        },
        move || {
            let rt = common::tokio_rt();
            move || rt.block_on(b)
        },
    )
}

/// The share of positions where two tasks' thread samples agree.
fn same_worker(a: &[ThreadId], b: &[ThreadId]) -> f64 {
    let both = a.len().min(b.len());
    if both == 0 {
        return f64::NAN;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / both as f64
}

/// A sample of the current thread when `probe` and `k` is a multiple of
/// `PROBE_EVERY`.
#[inline]
fn probe_at(probe: bool, k: u64, seen: &mut Vec<ThreadId>) {
    if probe && k % PROBE_EVERY == 0 {
        seen.push(std::thread::current().id());
    }
}

// -------------------------------------------------------------------- tell

fn jzx_tell(n: u64, batch: u64, pin: bool) -> f64 {
    let mut rt = jzx_runtime(2, pin);
    let (consumer, out) = Sink::<u64>::new(n);
    let consumer = rt.spawn_on(1, consumer).expect("spawn consumer");
    let producer = rt
        .spawn_on(0, Sender::new(consumer, n, batch))
        .expect("spawn producer");
    rt.on_loop(0, move |lp| lp.send(producer, Go).map_err(|e| e.error))
        .expect("loop 0")
        .expect("send Go");
    let took = run_timed(&mut rt);
    assert_eq!(out.get(), n * (n - 1) / 2, "jzx sum");
    took
}

/// tokio tell on a 2-worker runtime; with `probe`, also the share of
/// samples where sender and receiver ran on the same thread.
fn tokio_tell(n: u64, pin: Option<&[usize]>, probe: bool) -> (f64, f64) {
    let rt = tokio_mt(pin);
    let start = Instant::now();
    let (sum, shared) = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let sender = tokio::spawn(async move {
            let mut seen = Vec::new();
            for i in 0..n {
                probe_at(probe, i, &mut seen);
                tx.send(i).await.expect("receiver alive");
            }
            seen
        });
        let receiver = tokio::spawn(async move {
            let (mut sum, mut seen) = (0u64, Vec::new());
            while let Some(v) = rx.recv().await {
                probe_at(probe, v, &mut seen);
                sum = sum.wrapping_add(v);
            }
            (sum, seen)
        });
        let sent_on = sender.await.expect("sender");
        let (sum, got_on) = receiver.await.expect("receiver");
        (sum, same_worker(&sent_on, &got_on))
    });
    let took = common::secs(start);
    assert_eq!(sum, n * (n - 1) / 2, "tokio sum");
    (took, shared)
}

/// tokio tell between two current-thread runtimes on two threads.
fn tokio_split_tell(n: u64, pin: Option<&[usize]>) -> f64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
    let sum = Arc::new(AtomicU64::new(0));
    let out = sum.clone();
    let took = tokio_split(
        pin,
        async move {
            for i in 0..n {
                tx.send(i).await.expect("receiver alive");
            }
        },
        async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum = sum.wrapping_add(v);
            }
            out.store(sum, Ordering::Release);
        },
    );
    assert_eq!(sum.load(Ordering::Acquire), n * (n - 1) / 2, "split sum");
    took
}

// --------------------------------------------------------------- ping_pong

enum Msg {
    Peer(Addr<Msg>),
    Ball(u64),
}

/// One end of the rally: the pinger (loop 0) sends `Ball(k + 1)` for each
/// `Ball(k)` returned; the ponger (loop 1) returns each ball. Both stop at
/// ball `n - 1`.
struct Player {
    peer: Option<Addr<Msg>>,
    n: u64,
    pinger: bool,
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
                let last = k + 1 >= self.n;
                if !self.pinger {
                    cx.send(peer, Msg::Ball(k)).expect("pinger alive");
                } else if !last {
                    cx.send(peer, Msg::Ball(k + 1)).expect("ponger alive");
                }
                if last {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
        }
    }
}

fn jzx_ping_pong(n: u64, pin: bool) -> f64 {
    let mut rt = jzx_runtime(2, pin);
    let pong = rt
        .spawn_on(
            1,
            Player {
                peer: None,
                n,
                pinger: false,
            },
        )
        .expect("spawn ponger");
    let ping = rt
        .spawn_on(
            0,
            Player {
                peer: Some(pong),
                n,
                pinger: true,
            },
        )
        .expect("spawn pinger");
    rt.on_loop(1, move |lp| {
        lp.send(pong, Msg::Peer(ping)).map_err(|e| e.error)?;
        lp.send(pong, Msg::Ball(0)).map_err(|e| e.error)
    })
    .expect("loop 1")
    .expect("send to ponger");
    run_timed(&mut rt)
}

/// tokio ping-pong on a 2-worker runtime; with `probe`, also the share of
/// samples where pinger and ponger ran on the same thread.
fn tokio_ping_pong(n: u64, pin: Option<&[usize]>, probe: bool) -> (f64, f64) {
    let rt = tokio_mt(pin);
    let start = Instant::now();
    let (last, shared) = rt.block_on(async move {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let ponger = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(k) = ping_rx.recv().await {
                probe_at(probe, k, &mut seen);
                if pong_tx.send(k).await.is_err() {
                    break;
                }
            }
            seen
        });
        let pinger = tokio::spawn(async move {
            let (mut last, mut seen) = (0, Vec::new());
            for k in 0..n {
                ping_tx.send(k).await.expect("ponger alive");
                last = pong_rx.recv().await.expect("ponger alive");
                probe_at(probe, k, &mut seen);
            }
            (last, seen)
        });
        let (last, ping_on) = pinger.await.expect("pinger");
        let pong_on = ponger.await.expect("ponger");
        (last, same_worker(&ping_on, &pong_on))
    });
    let took = common::secs(start);
    assert_eq!(last, n - 1, "tokio last ball");
    (took, shared)
}

/// tokio ping-pong between two current-thread runtimes on two threads.
fn tokio_split_ping_pong(n: u64, pin: Option<&[usize]>) -> f64 {
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let last = Arc::new(AtomicU64::new(u64::MAX));
    let out = last.clone();
    let took = tokio_split(
        pin,
        async move {
            let mut last = 0;
            for k in 0..n {
                ping_tx.send(k).await.expect("ponger alive");
                last = pong_rx.recv().await.expect("ponger alive");
            }
            out.store(last, Ordering::Release);
        },
        async move {
            while let Some(k) = ping_rx.recv().await {
                if pong_tx.send(k).await.is_err() {
                    break;
                }
            }
        },
    );
    assert_eq!(last.load(Ordering::Acquire), n - 1, "split last ball");
    took
}

/// A cache line of its own.
#[repr(align(128))]
struct Line(AtomicU64);

/// The floor of a cross-thread round trip here, with no runtime and no
/// queue: one thread stores `k` into a cache line and spins until another
/// thread, spinning on that line, has stored it into a second line; N
/// times. Any ping-pong between two cores costs at least this. The threads
/// are pinned as the others are (see [`two_threads`]).
fn atomic_floor(n: u64, pin: Option<&[usize]>) -> f64 {
    let lines = Arc::new((Line(AtomicU64::new(0)), Line(AtomicU64::new(0))));
    // The pinger stores into the first line and waits on the second; the
    // echo the other way round.
    let bounce = |pinger: bool| {
        let lines = lines.clone();
        move || {
            move || {
                let (mine, theirs) = if pinger {
                    (&lines.0 .0, &lines.1 .0)
                } else {
                    (&lines.1 .0, &lines.0 .0)
                };
                for k in 1..=n {
                    if pinger {
                        mine.store(k, Ordering::Release);
                    }
                    while theirs.load(Ordering::Acquire) != k {
                        std::hint::spin_loop();
                    }
                    if !pinger {
                        mine.store(k, Ordering::Release);
                    }
                }
            }
        }
    };
    two_threads(pin, bounce(true), bounce(false))
}

// ------------------------------------------------------------------ skynet

/// The root: its ten children were spawned on their loops before the run
/// (after it, so their addresses reach it through `children`); it starts
/// them, adds up their sums and publishes the total.
struct Root {
    children: Arc<OnceLock<Vec<Addr<Sky>>>>,
    sums: Sums,
    out: Arc<AtomicU64>,
}

impl Actor for Root {
    type Msg = Sky;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Sky) -> Flow {
        match msg {
            Sky::Start => {
                let children = self.children.get().expect("children spawned");
                for &child in children {
                    cx.send(child, Sky::Start).expect("child alive");
                }
                self.sums.expect(children.len());
                Flow::Continue
            }
            Sky::Sum(s) => {
                let Some(total) = self.sums.add(s) else {
                    return Flow::Continue;
                };
                self.out.store(total, Ordering::Release);
                Flow::Stop
            }
        }
    }
}

/// Skynet over `n` leaves on a runtime of `loops` loops.
fn jzx_skynet(n: u64, loops: usize, pin: bool) -> f64 {
    let mut rt = jzx_runtime(loops, pin);
    let out = Arc::new(AtomicU64::new(0));
    let slots = Arc::new(OnceLock::new());
    let root = rt
        .spawn_on(
            0,
            Root {
                children: slots.clone(),
                sums: Sums::default(),
                out: out.clone(),
            },
        )
        .expect("spawn root");
    let step = n / 10;
    let mut children = Vec::with_capacity(10);
    for i in 0..10 {
        let child = SkyNode::new(i * step, step, root);
        children.push(rt.spawn_on(i as usize % loops, child).expect("spawn"));
    }
    slots.set(children).expect("children set once");
    rt.on_loop(0, move |lp| lp.send(root, Sky::Start).map_err(|e| e.error))
        .expect("loop 0")
        .expect("send Start");
    let took = run_timed(&mut rt);
    assert_eq!(out.load(Ordering::Acquire), n * (n - 1) / 2, "skynet sum");
    took
}

// ------------------------------------------------------------------ rounds

/// One way of running a case, with its timed runs.
struct Side<'a> {
    /// Whether this is the jzx side measured against the others (what
    /// `--only jzx` keeps).
    jzx: bool,
    run: Box<dyn FnMut() -> f64 + 'a>,
    secs: Vec<f64>,
}

impl<'a> Side<'a> {
    fn new(jzx: bool, run: impl FnMut() -> f64 + 'a) -> Side<'a> {
        Side {
            jzx,
            run: Box::new(run),
            secs: Vec::new(),
        }
    }
}

/// Runs each side `args.runs` times, after one unmeasured warm-up of each,
/// rotating which goes first every round so that all see the same noise.
/// A side that `--only` leaves out records NaN.
fn rounds(args: &Args, sides: &mut [Side<'_>]) {
    let runs = |s: &Side<'_>| match args.only.as_deref() {
        Some("jzx") => s.jzx,
        Some(_) => !s.jzx,
        None => true,
    };
    if args.warmup {
        for s in sides.iter_mut().filter(|s| runs(s)) {
            (s.run)();
        }
    }
    for round in 0..args.runs {
        for k in 0..sides.len() {
            let s = &mut sides[(round + k) % sides.len()];
            let secs = if runs(s) { (s.run)() } else { f64::NAN };
            s.secs.push(secs);
        }
    }
}

/// The median rate of `count` items over the runs of `secs`.
fn median_rate(count: u64, secs: &[f64]) -> f64 {
    count as f64 / Stats::of(secs).median
}

/// The `pin=` figure: the CPUs pinned to, or `no`.
fn pin_label(cpus: Option<&[usize]>) -> String {
    cpus.map_or("no".into(), |c| {
        let c: Vec<String> = c.iter().map(usize::to_string).collect();
        c.join(",")
    })
}

/// `x` as a percentage, or `n/a`.
fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.0}%", x * 100.0)
    } else {
        "n/a".into()
    }
}

/// tell or ping_pong: jzx against tokio's multi-thread runtime (the target)
/// and the split variant, then the side run that says where tokio ran them.
#[allow(clippy::too_many_arguments)]
fn versus_tokio(
    args: &Args,
    name: &'static str,
    n: u64,
    target: f64,
    pin: Option<&[usize]>,
    mut jzx: impl FnMut() -> f64,
    mut mt: impl FnMut(bool) -> (f64, f64),
    mut split: impl FnMut() -> f64,
    floor: Option<&mut dyn FnMut() -> f64>,
    params: &[(&str, String)],
) {
    let mut sides = vec![
        Side::new(true, &mut jzx),
        Side::new(false, || mt(false).0),
        Side::new(false, &mut split),
    ];
    let has_floor = floor.is_some();
    if let Some(f) = floor {
        sides.push(Side::new(false, f));
    }
    rounds(args, &mut sides);
    let secs: Vec<Vec<f64>> = sides.into_iter().map(|s| s.secs).collect();
    let mut secs = secs.into_iter();
    let (jzx_s, mt_s, split_s) = (
        secs.next().expect("jzx"),
        secs.next().expect("tokio"),
        secs.next().expect("split"),
    );
    let floor_rate = secs.next().map(|f| median_rate(n, &f));
    let shared = if args.only.as_deref() == Some("jzx") {
        f64::NAN
    } else {
        mt(true).1
    };
    let split_rate = median_rate(n, &split_s);
    let samples = Samples {
        jzx: jzx_s,
        tokio: mt_s,
    };
    let report = Report::new(
        name,
        Kind::Rate {
            count: n as f64,
            unit: "/s",
        },
        &samples,
        true,
        target,
    );
    let ratio_split = report.jzx_median() / split_rate;
    let mut report = report.param("n", n);
    for (k, v) in params {
        report = report.param(k, v);
    }
    report = report
        .param("loops", 2)
        .param("pin", pin_label(pin))
        .extra("split", format!("{}/s", common::si(split_rate)))
        .extra("ratio_split", format!("{ratio_split:.2}"))
        .extra("tokio_same_worker", percent(shared));
    if let (true, Some(f)) = (has_floor, floor_rate) {
        report = report.extra("floor", format!("{}/s", common::si(f)));
    }
    report.print();
}

fn main() {
    let args = Args::parse();
    DIAG.store(args.value("diag", 0) != 0, Ordering::Relaxed);
    common::cores(); // read before any thread is pinned
    let cpus = common::allowed_cpus();
    let pin = args.value("pin", 0) != 0 && cpus.len() >= 2;
    let pin_cpus = pin.then_some(&cpus[..2]);
    let case = args.string("case").map(str::to_owned);
    let wants = |c: &str| case.as_deref().map_or(true, |w| w == c);
    if let Some(c) = case.as_deref() {
        if !["tell", "ping_pong", "skynet"].contains(&c) {
            eprintln!("cross_loop: --case takes tell, ping_pong or skynet");
            std::process::exit(2);
        }
    }

    if wants("tell") {
        let n = args.n(10_000_000, 10_000).max(1);
        let batch = args.value("batch", 512).max(1);
        versus_tokio(
            &args,
            "cross_loop_tell",
            n,
            3.0,
            pin_cpus,
            || jzx_tell(n, batch, pin),
            |probe| tokio_tell(n, pin_cpus, probe),
            || tokio_split_tell(n, pin_cpus),
            // Where the host runs the two vCPUs at the time (see the
            // floor in the module's doc): N/10 round trips, scaled to N.
            Some(&mut || {
                let part = (n / 10).max(1);
                atomic_floor(part, pin_cpus) * (n as f64 / part as f64)
            }),
            &[
                ("size", std::mem::size_of::<u64>().to_string()),
                ("cap", CAP.to_string()),
                ("batch", batch.to_string()),
            ],
        );
    }
    if wants("ping_pong") {
        let n = args.n(2_000_000, 10_000).max(1);
        versus_tokio(
            &args,
            "cross_loop_ping_pong",
            n,
            2.0,
            pin_cpus,
            || jzx_ping_pong(n, pin),
            |probe| tokio_ping_pong(n, pin_cpus, probe),
            || {
                // It parks a thread at every message (20-150 k round
                // trips/s here): N/20 of them, the time scaled to N.
                let part = (n / SPLIT_PING_PONG_PART).max(1);
                tokio_split_ping_pong(part, pin_cpus) * (n as f64 / part as f64)
            },
            Some(&mut || atomic_floor(n, pin_cpus)),
            &[("size", std::mem::size_of::<Msg>().to_string())],
        );
    }
    if wants("skynet") {
        let n = args.n(1_000_000, 1_000);
        if n < 10 || !std::iter::successors(Some(1u64), |p| p.checked_mul(10)).any(|p| p == n) {
            eprintln!("cross_loop: skynet's --n must be a power of ten, at least 10");
            std::process::exit(2);
        }
        let actors: u64 = std::iter::successors(Some(n), |&k| (k > 1).then_some(k / 10)).sum();
        let mut sides = [
            Side::new(true, || jzx_skynet(n, 2, pin)),
            Side::new(false, || jzx_skynet(n, 1, pin)),
        ];
        rounds(&args, &mut sides);
        let [two, one] = sides.map(|s| s.secs);
        let samples = Samples {
            jzx: two,
            tokio: one,
        };
        Report::new("cross_loop_skynet", Kind::Time, &samples, false, 0.65)
            .baseline("one_loop")
            .param("n", n)
            .param("actors", actors)
            .param("loops", 2)
            .param("pin", pin_label(pin_cpus))
            .print();
    }
}
