//! What every benchmark shares: arguments, alternating runs, statistics, and
//! the one `BENCH` summary line (SPEC §8).
//!
//! Arguments (all optional): `--n N` (problem size), `--runs R` (measured
//! runs of each side, default 5, at least 3 unless `--smoke`), `--smoke`
//! (tiny N, one run, no warm-up: for tests/bench_smoke.rs), `--no-warmup`.
//! `--only jzx|tokio` runs one side alone (for profiling; the other side's
//! figures print as NaN). `cargo bench` adds `--bench`, which is ignored.
//! Benchmark-specific flags are read with [`Args::value`].
//!
//! Each run of a side returns the seconds it measured. Runs alternate (jzx
//! then tokio, then tokio then jzx, ...) in one process, after one unmeasured
//! warm-up of each side, so both see the same machine noise.
#![allow(dead_code)]

use jzx::{Actor, Addr, Context, Flow};
use std::fmt::Write as _;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    pub smoke: bool,
    pub runs: usize,
    pub warmup: bool,
    /// `--only jzx|tokio`: run that side alone.
    pub only: Option<String>,
    n: Option<u64>,
    rest: Vec<(String, String)>,
}

impl Args {
    /// Parses `std::env::args()`; exits with status 2 on a bad argument.
    pub fn parse() -> Args {
        let mut args = Args {
            smoke: false,
            runs: 5,
            warmup: true,
            only: None,
            n: None,
            rest: Vec::new(),
        };
        let mut runs = None;
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--bench" => {}
                "--smoke" => args.smoke = true,
                "--no-warmup" => args.warmup = false,
                _ if flag.starts_with("--") => {
                    let Some(value) = it.next() else {
                        usage(&format!("{flag} needs a value"));
                    };
                    match flag.as_str() {
                        "--n" => args.n = Some(parse_num(&flag, &value)),
                        "--runs" => runs = Some(parse_num(&flag, &value) as usize),
                        "--only" if value == "jzx" || value == "tokio" => args.only = Some(value),
                        "--only" => usage("--only takes jzx or tokio"),
                        _ => args.rest.push((flag, value)),
                    }
                }
                _ => usage(&format!("unexpected argument {flag:?}")),
            }
        }
        if args.smoke {
            args.runs = runs.unwrap_or(1);
            args.warmup = false;
        } else {
            args.runs = runs.unwrap_or(5);
            if args.runs < 3 {
                usage("--runs must be at least 3 (median of at least 3)");
            }
        }
        args
    }

    /// N: `--n`, else `smoke` in smoke mode, else `full`.
    pub fn n(&self, full: u64, smoke: u64) -> u64 {
        self.n.unwrap_or(if self.smoke { smoke } else { full })
    }

    /// A benchmark-specific numeric flag (`--name VALUE`), else `default`.
    pub fn value(&self, name: &str, default: u64) -> u64 {
        self.rest
            .iter()
            .rev()
            .find(|(f, _)| f.trim_start_matches("--") == name)
            .map_or(default, |(f, v)| parse_num(f, v))
    }

    /// A benchmark-specific string flag (`--name VALUE`).
    pub fn string(&self, name: &str) -> Option<&str> {
        self.rest
            .iter()
            .rev()
            .find(|(f, _)| f.trim_start_matches("--") == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_num(flag: &str, value: &str) -> u64 {
    let v = value.replace('_', "");
    let (digits, mult) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1_000),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1_000_000),
        _ => (v.as_str(), 1),
    };
    match digits.parse::<u64>() {
        Ok(n) => n * mult,
        Err(_) => usage(&format!("{flag}: not a number: {value:?}")),
    }
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "error: {msg}\nusage: BENCH [--n N] [--runs R (>= 3)] [--smoke] [--no-warmup] [--FLAG VALUE]"
    );
    std::process::exit(2)
}

/// Median, min and max of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        };
        Stats {
            min: s[0],
            median,
            max: s[s.len() - 1],
        }
    }

    /// The stats of `f(x)` for a decreasing `f` (times to rates).
    pub fn map_decreasing(self, f: impl Fn(f64) -> f64) -> Stats {
        Stats {
            min: f(self.max),
            median: f(self.median),
            max: f(self.min),
        }
    }
}

/// Seconds measured by each side, run by run.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub jzx: Vec<f64>,
    pub tokio: Vec<f64>,
}

/// Runs both sides `args.runs` times, alternating which goes first, after an
/// unmeasured warm-up of each (unless `--smoke`/`--no-warmup`). Each closure
/// does one complete run and returns the seconds it measured.
pub fn alternate(args: &Args, jzx: impl FnMut() -> f64, tokio: impl FnMut() -> f64) -> Samples {
    let mut jzx = side(args, "jzx", jzx);
    let mut tokio = side(args, "tokio", tokio);
    if args.warmup {
        jzx();
        tokio();
    }
    let mut out = Samples::default();
    for i in 0..args.runs {
        if i % 2 == 0 {
            out.jzx.push(jzx());
            out.tokio.push(tokio());
        } else {
            out.tokio.push(tokio());
            out.jzx.push(jzx());
        }
    }
    out
}

/// `run`, or NaN without running when `--only` names the other side.
fn side<'a>(
    args: &Args,
    name: &str,
    run: impl FnMut() -> f64 + 'a,
) -> Box<dyn FnMut() -> f64 + 'a> {
    match &args.only {
        Some(only) if only != name => Box::new(|| f64::NAN),
        _ => Box::new(run),
    }
}

/// The median of per-run figures recorded by a side's closure, warm-up run
/// (the first, when there was one) left out; NaN when there are none.
pub fn median_measured(args: &Args, v: &[f64]) -> f64 {
    let skip = usize::from(args.warmup).min(v.len());
    if v.len() == skip {
        f64::NAN
    } else {
        Stats::of(&v[skip..]).median
    }
}

/// Seconds since `start`.
pub fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// The backend a default loop uses here (honours `JZX_BACKEND`).
pub fn backend() -> String {
    match jzx::Loop::new() {
        Ok(lp) => lp.backend().to_string(),
        Err(e) => format!("unavailable({e})"),
    }
}

/// The build profile of this binary.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The CPUs this process may run on (its affinity mask: 1 under
/// `taskset -c 0`), as first asked (a benchmark that pins its own threads
/// asks before it does).
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| allowed_cpus().len().max(1))
}

/// The CPU numbers in this thread's affinity mask.
pub fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, and
        // sched_getaffinity writes at most size_of::<cpu_set_t>() bytes.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is the calling thread; the size matches the set.
        let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
        if rc == 0 {
            return (0..libc::CPU_SETSIZE as usize)
                // SAFETY: cpu < CPU_SETSIZE, within the set.
                .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
                .collect();
        }
    }
    (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
}

/// Pins the calling thread to `cpu` (Linux); false when that failed or is
/// not supported.
pub fn pin_current_thread(cpu: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: CPU_SET writes one bit of the set; cpu is checked below.
        if cpu < libc::CPU_SETSIZE as usize {
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // SAFETY: pid 0 is the calling thread; the size matches the set.
            return unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } == 0;
        }
    }
    let _ = cpu;
    false
}

/// A `key: value kB` field of /proc/self/status, in bytes.
pub fn proc_status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size now, in bytes.
pub fn rss_bytes() -> Option<u64> {
    proc_status_bytes("VmRSS:")
}

/// A tokio current-thread runtime, as `#[tokio::main(flavor =
/// "current_thread")]` builds it (I/O and time drivers enabled).
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// How a figure is compared with the target.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A rate (higher is better): samples are seconds for `count` items.
    Rate { count: f64, unit: &'static str },
    /// A time (lower is better).
    Time,
    /// A time (lower is better), printed in microseconds with a unit suffix
    /// (`3.91us/echo`); samples are seconds.
    Micros { unit: &'static str },
}

/// One `BENCH` line.
#[derive(Debug)]
pub struct Report {
    name: &'static str,
    params: Vec<(String, String)>,
    kind: Kind,
    jzx: Stats,
    tokio: Stats,
    runs: usize,
    ratio: f64,
    /// `target>=X` or `target<=X` on the ratio.
    ratio_target: (bool, f64),
    extra: Vec<(String, String)>,
    checks: Vec<(String, bool)>,
    /// `backend=` and `cores=` when they are not this process's (a benchmark
    /// that measures other processes, like echo).
    backend: Option<String>,
    cores: Option<usize>,
    /// What the jzx figure is compared with: `tokio`, or another name (see
    /// [`Report::baseline`]).
    baseline: &'static str,
}

impl Report {
    /// A report of `samples` (seconds per run). For a rate, `ratio` is
    /// jzx/tokio of the median rates and `at_least` says the target is
    /// `ratio >= target`; for a time, it is jzx/tokio of the median times.
    pub fn new(
        name: &'static str,
        kind: Kind,
        samples: &Samples,
        at_least: bool,
        target: f64,
    ) -> Report {
        let (jzx, tokio) = match kind {
            Kind::Rate { count, .. } => (
                Stats::of(&samples.jzx).map_decreasing(|s| count / s),
                Stats::of(&samples.tokio).map_decreasing(|s| count / s),
            ),
            Kind::Time | Kind::Micros { .. } => {
                (Stats::of(&samples.jzx), Stats::of(&samples.tokio))
            }
        };
        let ratio = jzx.median / tokio.median;
        Report {
            name,
            params: Vec::new(),
            kind,
            jzx,
            tokio,
            runs: samples.jzx.len(),
            ratio,
            ratio_target: (at_least, target),
            extra: Vec::new(),
            checks: Vec::new(),
            backend: None,
            cores: None,
            baseline: "tokio",
        }
    }

    /// Names the baseline when it is not tokio (e.g. jzx itself on one
    /// loop): its figures print as `{label}=` and `{label}[min,med,max]=`
    /// instead of `tokio=`, and the line says `baseline={label}`. The
    /// samples are still given as `Samples::tokio`.
    pub fn baseline(mut self, label: &'static str) -> Self {
        self.baseline = label;
        self.params.push(("baseline".into(), label.into()));
        self
    }

    /// Prints `backend=` and `cores=` as given instead of this process's.
    pub fn context(mut self, backend: &str, cores: usize) -> Self {
        self.backend = Some(backend.to_string());
        self.cores = Some(cores);
        self
    }

    /// A parameter printed after `name` (`n=...`, `size=...`).
    pub fn param(mut self, key: &str, value: impl ToString) -> Self {
        self.params.push((key.into(), value.to_string()));
        self
    }

    /// A further figure printed after the ratio.
    pub fn extra(mut self, key: &str, value: impl ToString) -> Self {
        self.extra.push((key.into(), value.to_string()));
        self
    }

    /// A further target, met or not.
    pub fn check(mut self, what: &str, met: bool) -> Self {
        self.checks.push((what.into(), met));
        self
    }

    /// The median figure of jzx (rate or seconds).
    pub fn jzx_median(&self) -> f64 {
        self.jzx.median
    }

    fn fig(&self, v: f64) -> String {
        match self.kind {
            Kind::Rate { unit, .. } => format!("{}{unit}", si(v)),
            Kind::Time => ms(v),
            Kind::Micros { unit } => format!("{}{unit}", us_bare(v)),
        }
    }

    fn fig_bare(&self, v: f64) -> String {
        match self.kind {
            Kind::Rate { .. } => si(v),
            Kind::Time => ms_bare(v),
            Kind::Micros { .. } => us_bare(v),
        }
    }

    /// Prints the line (and flushes), e.g.
    /// `BENCH tell n=10000000 size=8 backend=io_uring profile=release cores=1
    /// jzx=31.2M/s tokio=9.8M/s ratio=3.18 target>=3.0 met=yes ...`.
    pub fn print(&self) {
        let mut line = format!("BENCH {}", self.name);
        for (k, v) in &self.params {
            let _ = write!(line, " {k}={v}");
        }
        let _ = write!(
            line,
            " backend={} profile={} cores={}",
            self.backend.clone().unwrap_or_else(backend),
            profile(),
            self.cores.unwrap_or_else(cores)
        );
        let (at_least, target) = self.ratio_target;
        let ratio_met = if at_least {
            self.ratio >= target
        } else {
            self.ratio <= target
        };
        let _ = write!(
            line,
            " jzx={} {}={} ratio={:.2} target{}{}",
            self.fig(self.jzx.median),
            self.baseline,
            self.fig(self.tokio.median),
            self.ratio,
            if at_least { ">=" } else { "<=" },
            target_fig(target),
        );
        for (k, v) in &self.extra {
            let _ = write!(line, " {k}={v}");
        }
        let mut met = vec![("ratio".to_string(), ratio_met)];
        met.extend(self.checks.iter().cloned());
        let all = met.iter().all(|(_, m)| *m);
        let _ = write!(line, " met={}", if all { "yes" } else { "no" });
        if met.len() > 1 {
            let parts: Vec<String> = met
                .iter()
                .map(|(w, m)| format!("{w}:{}", if *m { "yes" } else { "no" }))
                .collect();
            let _ = write!(line, "({})", parts.join(","));
        }
        let unit = match self.kind {
            Kind::Rate { unit, .. } => unit,
            Kind::Time => "ms",
            Kind::Micros { unit } => unit,
        };
        let _ = write!(
            line,
            " runs={} jzx[min,med,max]={},{},{}{unit} {}[min,med,max]={},{},{}{unit}",
            self.runs,
            self.fig_bare(self.jzx.min),
            self.fig_bare(self.jzx.median),
            self.fig_bare(self.jzx.max),
            self.baseline,
            self.fig_bare(self.tokio.min),
            self.fig_bare(self.tokio.median),
            self.fig_bare(self.tokio.max),
        );
        println!("{line}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    }
}

/// A ratio target as printed: one decimal (`3.0`, `0.5`), or as many as it
/// has (`0.65`).
fn target_fig(t: f64) -> String {
    if (t * 10.0).fract() == 0.0 {
        format!("{t:.1}")
    } else {
        format!("{t}")
    }
}

/// `v` with an SI suffix: 31.2M, 450.0k, 12.3.
pub fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.1}")
    }
}

/// Seconds as milliseconds: `123.4ms`, `1.23ms`.
pub fn ms(s: f64) -> String {
    format!("{}ms", ms_bare(s))
}

/// Seconds as microseconds, bare: `3.91`, `12.3`.
fn us_bare(s: f64) -> String {
    let us = s * 1e6;
    if us < 100.0 {
        format!("{us:.2}")
    } else {
        format!("{us:.1}")
    }
}

fn ms_bare(s: f64) -> String {
    if s < 0.01 {
        format!("{:.2}", s * 1e3)
    } else {
        format!("{:.1}", s * 1e3)
    }
}

/// Where a [`Sink`] leaves its sum (shared, so that the sink can live on
/// another loop's thread).
#[derive(Clone, Default)]
pub struct SinkSum(Arc<AtomicU64>);

impl SinkSum {
    /// The sum the sink stored (0 before it has all its messages).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// An actor that adds up the first `n` messages it receives (`u64` or
/// `u32`), then stores the sum where its [`SinkSum`] reads it and stops:
/// the receiving end of tell, cross_thread, timers and cross_loop.
pub struct Sink<T> {
    left: u64,
    sum: u64,
    out: SinkSum,
    _msg: PhantomData<fn(T)>,
}

impl<T> Sink<T> {
    /// A sink for `n` messages (`n` ≥ 1) and where its sum will be.
    pub fn new(n: u64) -> (Sink<T>, SinkSum) {
        let out = SinkSum::default();
        let sink = Sink {
            left: n,
            sum: 0,
            out: out.clone(),
            _msg: PhantomData,
        };
        (sink, out)
    }
}

impl<T: Into<u64> + 'static> Actor for Sink<T> {
    type Msg = T;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, v: T) -> Flow {
        self.sum = self.sum.wrapping_add(v.into());
        self.left -= 1;
        if self.left == 0 {
            self.out.0.store(self.sum, Ordering::Release);
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Tells a [`Sender`] to send its next batch.
pub struct Go;

/// Sends `0..n` to `to`, at most `batch` per [`Go`], stopping a batch at the
/// first refusal (a full mailbox, ring or bound), whose message it keeps for
/// its next turn; then sends itself `Go`. The sending end of tell and
/// cross_loop's tell.
pub struct Sender {
    to: Addr<u64>,
    next: u64,
    n: u64,
    batch: u64,
    /// A message handed back, sent first next time.
    held: Option<u64>,
}

impl Sender {
    /// A sender of `0..n` to `to`, `batch` per turn.
    pub fn new(to: Addr<u64>, n: u64, batch: u64) -> Sender {
        Sender {
            to,
            next: 0,
            n,
            batch,
            held: None,
        }
    }
}

impl Actor for Sender {
    type Msg = Go;
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: Go) -> Flow {
        let mut sent = 0;
        while sent < self.batch {
            let v = match self.held.take() {
                Some(v) => v,
                None if self.next < self.n => {
                    self.next += 1;
                    self.next - 1
                }
                None => break,
            };
            match cx.send(self.to, v) {
                Ok(()) => sent += 1,
                Err(e) => {
                    self.held = Some(e.into_message());
                    break;
                }
            }
        }
        if self.held.is_none() && self.next == self.n {
            return Flow::Stop;
        }
        let me = cx.addr();
        cx.send(me, Go).expect("own mailbox has room");
        Flow::Continue
    }
}

/// Skynet's messages: start your subtree; the sum of a subtree.
pub enum Sky {
    Start,
    Sum(u64),
}

/// A node of skynet's 10-ary tree: a leaf (`size` 1) sends its number to its
/// parent; an inner node spawns ten children on its own loop, starts them,
/// and sends the sum of their sums to its parent.
pub struct SkyNode {
    num: u64,
    size: u64,
    parent: Addr<Sky>,
    sums: Sums,
}

/// The sums a skynet node waits for from its children, added up as they
/// come.
#[derive(Debug, Default)]
pub struct Sums {
    sum: u64,
    waiting: usize,
}

impl Sums {
    /// `n` children will report.
    pub fn expect(&mut self, n: usize) {
        self.waiting = n;
    }

    /// Adds one child's sum: the total once the last one has come.
    #[inline]
    pub fn add(&mut self, s: u64) -> Option<u64> {
        self.sum += s;
        self.waiting -= 1;
        (self.waiting == 0).then_some(self.sum)
    }
}

impl SkyNode {
    /// The node for the `size` leaves from `num` on, reporting to `parent`.
    pub fn new(num: u64, size: u64, parent: Addr<Sky>) -> SkyNode {
        SkyNode {
            num,
            size,
            parent,
            sums: Sums::default(),
        }
    }
}

impl Actor for SkyNode {
    type Msg = Sky;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Sky) -> Flow {
        match msg {
            Sky::Start if self.size == 1 => {
                cx.send(self.parent, Sky::Sum(self.num))
                    .expect("parent alive");
                Flow::Stop
            }
            Sky::Start => {
                let me = cx.addr();
                let step = self.size / 10;
                for i in 0..10 {
                    let child = cx
                        .spawn(SkyNode::new(self.num + i * step, step, me))
                        .expect("spawn");
                    cx.send(child, Sky::Start).expect("child alive");
                }
                self.sums.expect(10);
                Flow::Continue
            }
            Sky::Sum(s) => {
                let Some(total) = self.sums.add(s) else {
                    return Flow::Continue;
                };
                cx.send(self.parent, Sky::Sum(total)).expect("parent alive");
                Flow::Stop
            }
        }
    }
}
