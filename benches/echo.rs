//! echo (SPEC §8): the jzx echo server against a tokio current-thread echo
//! server, the same load client for both, server on one core and client on
//! the other. Targets at 50 connections × 64 B: server CPU time per echo
//! ≤ 0.9 × tokio's and req/s ≥ 1 × tokio's, on io_uring and on epoll.
//!
//! This driver builds nothing: it runs release binaries that must exist
//! (`cargo build --release --examples` first; `scripts/bench.sh` does it):
//! `examples/echo_server` (jzx; `JZX_BACKEND=io_uring`, then `=epoll`),
//! `examples/echo_tokio` (the baseline: a current-thread runtime, one task per
//! connection, a 64 KiB buffer, `read` then `write_all`) and
//! `examples/echo_bench` (the load client), looked up in the `examples/`
//! directory next to this executable's profile directory (`target/release/`
//! for `cargo bench`), or in `--bin-dir DIR`.
//!
//! One run of one server: start the server under `taskset -c 0` on an
//! ephemeral port of 127.0.0.1 (the jzx server binds 0.0.0.0; the client only
//! ever connects to 127.0.0.1), wait for its "listening on" line, start
//! `echo_bench --threads 1` under `taskset -c 1` (N connections, B-byte
//! requests, each verified), and when the client says it is connected, wait
//! out its warm-up and read the server's CPU time (utime + stime of
//! `/proc/PID/stat`, all threads, clock ticks) at the start and at the end of
//! its measured window. The figures: the client's requests per second over
//! the window, and the server's CPU seconds over the window divided by the
//! requests the client completed in it (= echoes): server CPU per echo, and
//! its user-space part (utime alone: the runtime's own cost; the rest is the
//! kernel's, which is the same work for every server). At 50
//! connections the one-core client saturates before the servers do, so req/s
//! are close and CPU per echo is what separates the servers. Then SIGTERM to
//! the server (SIGKILL after 2 s). Every wait is bounded.
//!
//! Each round runs every server at every connection count (the main count,
//! `--connections`, and the sweep, `--sweep`), the order of the servers
//! rotating from round to round, so all see the same machine noise. Reported:
//! medians over the rounds (min/max in the line's tail). Also recorded for
//! every run: the 1-minute load average, and the CPU time the rest of the
//! machine used during the window (all CPUs' busy time from `/proc/stat`
//! less the server's and the client's), in CPUs (`other_cpu`).
//!
//! Output: one line per run, then `BENCH echo` per jzx backend at the main
//! count (ratio = jzx/tokio of the median CPU per echo, `target<=0.9`; req/s
//! ratio as a further check; `user_us/echo` = jzx/tokio medians of the user
//! part), `BENCH echo_sweep` per backend and other count
//! (ratio = jzx/tokio of the median req/s), a table, and with `--plot FILE`
//! an SVG of req/s (and CPU per echo) against connection count.
//!
//! Flags (besides common's `--runs R` (default here 3), `--smoke`):
//! `--connections 50`, `--size 64`, `--warmup 1`, `--duration 5` (seconds,
//! fractions allowed), `--sweep 1,10,50,200|none`, `--servers
//! jzx-io_uring,jzx-epoll,tokio` (a subset), `--plot FILE`, `--bin-dir DIR`,
//! `--server-cpu 0`, `--client-cpu 1`, `--loops 1`, `--max-other 0.15`, `--retries 4`,
//! `--quiet-wait 120`. `--smoke`: one round, warm-up 0.2 s, window 0.5 s,
//! sweep 1, no waiting for a quiet machine, no redone runs.
//!
//! `--loops N` (N > 1): the jzx servers run with `--loops N` (one
//! `SO_REUSEPORT` listener per loop), the baseline is
//! `echo_tokio --workers N` (tokio's multi-thread runtime, N workers), and
//! the BENCH lines are `echo_loops` (target: CPU per echo ≤ 1.0 × tokio's)
//! and `echo_loops_sweep`, with `loops=`. Server and client then
//! share the CPUs: both are pinned to every CPU the process may use
//! (`--server-cpus 0,1 --client-cpus 0,1` on two cores; both flags take a
//! list).
//!
//! Shared machines: before each run the driver waits (at most `--quiet-wait`
//! seconds) until the machine uses at most `--max-other` CPUs, and a run
//! during whose window the rest of the machine used more than that is redone
//! (at most `--retries` times; after that it is kept, and `other_cpu_max` in
//! the BENCH line shows it).
mod common;

use common::{si, Args, Kind, Report, Samples, Stats};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a process may take to print its first line.
const START_LIMIT: Duration = Duration::from_secs(15);
/// How long a server has to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// The servers compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    JzxUring,
    JzxEpoll,
    Tokio,
}

impl Server {
    const ALL: [Server; 3] = [Server::JzxUring, Server::JzxEpoll, Server::Tokio];

    fn name(self) -> &'static str {
        match self {
            Server::JzxUring => "jzx-io_uring",
            Server::JzxEpoll => "jzx-epoll",
            Server::Tokio => "tokio",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Server::JzxUring => "jzx, io_uring",
            Server::JzxEpoll => "jzx, epoll",
            Server::Tokio => "tokio current-thread (epoll)",
        }
    }

    /// The `JZX_BACKEND` of a jzx server.
    fn backend(self) -> Option<&'static str> {
        match self {
            Server::JzxUring => Some("io_uring"),
            Server::JzxEpoll => Some("epoll"),
            Server::Tokio => None,
        }
    }
}

/// Where the binaries are.
struct Bins {
    jzx: PathBuf,
    tokio: PathBuf,
    client: PathBuf,
}

impl Bins {
    fn find(dir: Option<&str>) -> Result<Bins, String> {
        let dir = match dir {
            Some(d) => PathBuf::from(d),
            None => {
                // target/<profile>/deps/echo-HASH -> target/<profile>/examples
                let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
                exe.parent()
                    .and_then(Path::parent)
                    .map(|p| p.join("examples"))
                    .ok_or_else(|| format!("no profile directory above {}", exe.display()))?
            }
        };
        let bin = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!(
                    "{} not found: build the examples first (`cargo build --release --examples`), \
                     or pass --bin-dir DIR",
                    p.display()
                ))
            }
        };
        Ok(Bins {
            jzx: bin("echo_server")?,
            tokio: bin("echo_tokio")?,
            client: bin("echo_bench")?,
        })
    }
}

/// What the driver was asked to do.
struct Opts {
    main_conns: usize,
    counts: Vec<usize>,
    size: usize,
    warmup: f64,
    duration: f64,
    rounds: usize,
    servers: Vec<Server>,
    /// Loops of the jzx servers (`--loops N`), worker threads of tokio's
    /// multi-thread runtime; 1: one loop, tokio's current-thread runtime.
    loops: usize,
    /// The CPUs the server and the client are pinned to (`taskset -c`).
    server_cpus: Vec<usize>,
    client_cpus: Vec<usize>,
    plot: Option<String>,
    /// A run during which the rest of the machine used more than this many
    /// CPUs is redone (up to `retries` times).
    max_other: f64,
    retries: usize,
    /// How long to wait, before a run, for the machine to be quiet.
    quiet_wait: Duration,
}

/// One measured run.
#[derive(Clone, Debug)]
struct Run {
    requests: u64,
    /// The client's req/s over its window.
    rps: f64,
    /// Server CPU seconds over the window.
    server_cpu: f64,
    /// Server CPU seconds per echo.
    cpu_per_echo: f64,
    /// The user-space part of it (the rest is the kernel's: system calls,
    /// loopback delivery into the client's socket): the runtime's own cost.
    user_per_echo: f64,
    /// Server CPU over the window's wall time (1.0 = one core saturated).
    server_util: f64,
    client_util: f64,
    /// CPUs used by everything else during the window.
    other_cpu: f64,
    /// CPU time the hypervisor stole during the window, in CPUs.
    steal_cpu: f64,
    /// 1-minute load average at the end of the window.
    load1: f64,
    p50_us: u64,
    p99_us: u64,
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command) -> Result<Proc, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            name: name.to_string(),
            child,
            lines,
        })
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The first line satisfying `want`, within `limit`; the lines before it
    /// are kept in `seen`.
    fn wait_line(
        &mut self,
        limit: Duration,
        seen: &mut Vec<String>,
        want: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return Ok(line),
                Ok(line) => seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{}: expected output not seen within {limit:?} (output: {seen:?})",
                        self.name
                    ))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(format!(
                        "{}: exited ({status}) before the expected output (output: {seen:?})",
                        self.name
                    ));
                }
            }
        }
    }

    /// Waits for the process to exit by itself within `limit`.
    fn wait_exit(&mut self, limit: Duration) -> Result<std::process::ExitStatus, String> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => return Err(format!("{}: still running after {limit:?}", self.name)),
                Err(e) => return Err(format!("{}: wait: {e}", self.name)),
            }
        }
    }

    /// SIGTERM, then SIGKILL after `TERM_GRACE`.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: kill(2) on the pid of our own child, not yet reaped.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        if self.wait_exit(TERM_GRACE).is_err() {
            eprintln!(
                "echo: {} did not exit within {TERM_GRACE:?} of SIGTERM; SIGKILL",
                self.name
            );
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// "0,1".
fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `taskset -c CPUS PROGRAM`, or PROGRAM alone when pinning is not possible.
fn pinned(cpus: &[usize], program: &Path, can_pin: bool) -> Command {
    if can_pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu_list(cpus)).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// CPU time of a process (all its threads), in clock ticks: (user, system).
fn proc_ticks(pid: i32) -> Result<(u64, u64), String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // Fields after the command name (which may hold spaces): state is the
    // first, utime the 12th and stime the 13th (fields 14 and 15 of proc(5)).
    let rest = &stat[stat.rfind(')').ok_or("bad /proc/PID/stat")? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| -> Result<u64, String> {
        f.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat: no field {}", i + 3))
    };
    Ok((num(11)?, num(12)?))
}

/// Busy ticks of all CPUs (user, nice, system, irq, softirq) and the ticks
/// stolen by the hypervisor, from /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    (at(0) + at(1) + at(2) + at(5) + at(6), at(7))
}

fn machine_busy_ticks() -> u64 {
    machine_ticks().0
}

/// CPUs busy over `span` (everything on the machine).
fn busy_cpus(span: Duration) -> f64 {
    let a = machine_busy_ticks();
    let t = Instant::now();
    std::thread::sleep(span);
    let b = machine_busy_ticks();
    b.saturating_sub(a) as f64 / clock_ticks() / t.elapsed().as_secs_f64()
}

/// Waits (at most `limit`) until the machine is quiet: under `max` CPUs
/// busy over half a second. Returns the last figure.
fn wait_quiet(limit: Duration, max: f64) -> f64 {
    let start = Instant::now();
    let mut told = false;
    loop {
        let busy = busy_cpus(Duration::from_millis(500));
        if busy <= max || start.elapsed() >= limit {
            if told {
                eprintln!(
                    "echo: {} after {:.0} s ({busy:.2} CPUs busy)",
                    if busy <= max {
                        "quiet"
                    } else {
                        "still busy, going on"
                    },
                    start.elapsed().as_secs_f64()
                );
            }
            return busy;
        }
        if !told {
            eprintln!(
                "echo: machine busy ({busy:.2} CPUs used by others); waiting up to {limit:?}"
            );
            told = true;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// A snapshot of the counters read at the edges of the measured window.
struct Snap {
    at: Instant,
    /// The server's (user, system) ticks.
    server: (u64, u64),
    client: (u64, u64),
    busy: u64,
    steal: u64,
}

fn snap(server: i32, client: i32) -> Result<Snap, String> {
    Ok(Snap {
        at: Instant::now(),
        server: proc_ticks(server)?,
        client: proc_ticks(client)?,
        busy: machine_ticks().0,
        steal: machine_ticks().1,
    })
}

/// One run of `server` with `conns` connections.
fn run_once(
    bins: &Bins,
    o: &Opts,
    can_pin: bool,
    server: Server,
    conns: usize,
) -> Result<Run, String> {
    let mut cmd = pinned(
        &o.server_cpus,
        if server == Server::Tokio {
            &bins.tokio
        } else {
            &bins.jzx
        },
        can_pin,
    );
    cmd.arg("0");
    if o.loops > 1 {
        let n = o.loops.to_string();
        if server == Server::Tokio {
            cmd.args(["--workers", &n]);
        } else {
            cmd.args(["--loops", &n]);
        }
    }
    match server.backend() {
        Some(b) => {
            cmd.env("JZX_BACKEND", b);
        }
        None => {
            cmd.env_remove("JZX_BACKEND");
        }
    }
    let mut srv = Proc::spawn(server.name(), cmd)?;
    let mut seen = Vec::new();
    let line = srv.wait_line(START_LIMIT, &mut seen, |l| l.contains(" listening on "))?;
    let addr = line
        .split(" listening on ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .ok_or_else(|| format!("{}: cannot read the address in {line:?}", server.name()))?;
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("{}: cannot read the port in {line:?}", server.name()))?;
    if let Some(b) = server.backend() {
        if !line.contains(&format!("(backend: {b})")) {
            return Err(format!("{}: not on {b}: {line:?}", server.name()));
        }
    }

    let mut cmd = pinned(&o.client_cpus, &bins.client, can_pin);
    cmd.args([
        "--addr".to_string(),
        format!("127.0.0.1:{port}"),
        "--connections".into(),
        conns.to_string(),
        "--size".into(),
        o.size.to_string(),
        "--warmup".into(),
        o.warmup.to_string(),
        "--duration".into(),
        o.duration.to_string(),
        "--threads".into(),
        "1".into(),
    ]);
    let mut client = Proc::spawn("echo_bench", cmd)?;
    let mut seen = Vec::new();
    client.wait_line(START_LIMIT, &mut seen, |l| l.starts_with("echo_bench: "))?;
    // The client starts its clock right after printing that line.
    let t0 = Instant::now();
    let (spid, cpid) = (srv.pid(), client.pid());
    std::thread::sleep(Duration::from_secs_f64(o.warmup));
    let a = snap(spid, cpid)?;
    let end = t0 + Duration::from_secs_f64(o.warmup + o.duration);
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let b = snap(spid, cpid)?;
    let load1 = load1();

    let done = client.wait_line(START_LIMIT, &mut seen, |l| l.starts_with("requests: "))?;
    let lat = client.wait_line(START_LIMIT, &mut seen, |l| l.starts_with("latency us: "))?;
    let status = client.wait_exit(START_LIMIT)?;
    if !status.success() {
        return Err(format!("echo_bench failed ({status}); output: {seen:?}"));
    }
    // "requests: N in S s = R req/s (...)"
    let w: Vec<&str> = done.split_whitespace().collect();
    let requests: u64 = w
        .get(1)
        .and_then(|v| v.parse().ok())
        .ok_or("bad requests line")?;
    let rps: f64 = w
        .get(6)
        .and_then(|v| v.parse().ok())
        .ok_or("bad requests line")?;
    // "latency us: p50 X p99 Y p999 Z max M"
    let lw: Vec<&str> = lat.split_whitespace().collect();
    let p50_us = lw.get(3).and_then(|v| v.parse().ok()).unwrap_or(0);
    let p99_us = lw.get(5).and_then(|v| v.parse().ok()).unwrap_or(0);

    srv.stop();
    if let Ok(Some(status)) = srv.child.try_wait() {
        // SIGTERM is a clean stop for both servers; SIGKILL is reported above.
        if !status.success() && status.code().is_some() {
            eprintln!("echo: {} exited with {status}", server.name());
        }
    }

    let hz = clock_ticks();
    let wall = b.at.duration_since(a.at).as_secs_f64();
    let server_user = (b.server.0 - a.server.0) as f64 / hz;
    let server_cpu = server_user + (b.server.1 - a.server.1) as f64 / hz;
    let client_cpu = ((b.client.0 + b.client.1) - (a.client.0 + a.client.1)) as f64 / hz;
    let busy = (b.busy.saturating_sub(a.busy)) as f64 / hz;
    if requests == 0 {
        return Err("no request completed".into());
    }
    Ok(Run {
        requests,
        rps,
        server_cpu,
        cpu_per_echo: server_cpu / requests as f64,
        user_per_echo: server_user / requests as f64,
        server_util: server_cpu / wall,
        client_util: client_cpu / wall,
        other_cpu: (busy - server_cpu - client_cpu) / wall,
        steal_cpu: b.steal.saturating_sub(a.steal) as f64 / hz / wall,
        load1,
        p50_us,
        p99_us,
    })
}

fn parse_secs(args: &Args, name: &str, default: f64) -> f64 {
    match args.string(name) {
        None => default,
        Some(v) => match v.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => s,
            _ => {
                eprintln!("error: --{name}: not a number of seconds: {v:?}");
                std::process::exit(2)
            }
        },
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runs_given = std::env::args().any(|a| a == "--runs");
    let main_conns = args.value("connections", 50) as usize;
    let sweep: Vec<usize> = match args.string("sweep") {
        Some("none") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|v| {
                v.trim().parse().unwrap_or_else(|_| {
                    eprintln!("error: --sweep: not a list of counts: {list:?}");
                    std::process::exit(2)
                })
            })
            .collect(),
        None if args.smoke => vec![1],
        None => vec![1, 10, 50, 200],
    };
    let mut counts = sweep.clone();
    counts.push(main_conns);
    counts.sort_unstable();
    counts.dedup();
    if counts.contains(&0) {
        eprintln!("error: connection counts must be at least 1");
        return ExitCode::from(2);
    }
    let loops = args.value("loops", 1).max(1) as usize;
    let servers: Vec<Server> = match args.string("servers") {
        Some(list) => list
            .split(',')
            .map(|s| {
                Server::ALL
                    .into_iter()
                    .find(|v| v.name() == s.trim())
                    .unwrap_or_else(|| {
                        eprintln!("error: --servers: unknown server {s:?} (jzx-io_uring, jzx-epoll, tokio)");
                        std::process::exit(2)
                    })
            })
            .collect(),
        None => match args.only.as_deref() {
            Some("jzx") => vec![Server::JzxUring, Server::JzxEpoll],
            Some("tokio") => vec![Server::Tokio],
            _ => Server::ALL.to_vec(),
        },
    };
    let allowed = common::allowed_cpus();
    let cpus = |list: &str, single: &str, default: Vec<usize>| -> Vec<usize> {
        match args.string(list).or(args.string(single)) {
            None => default,
            Some(v) => v
                .split(',')
                .map(|c| {
                    c.trim().parse().unwrap_or_else(|_| {
                        eprintln!("error: --{list}: not a list of CPUs: {v:?}");
                        std::process::exit(2)
                    })
                })
                .collect(),
        }
    };
    // One loop: server and client on a core each. N loops: both on all the
    // CPUs the process may use (the client needs CPU as well).
    let (server_cpus, client_cpus) = if loops > 1 {
        (
            cpus("server-cpus", "server-cpu", allowed.clone()),
            cpus("client-cpus", "client-cpu", allowed.clone()),
        )
    } else {
        (
            cpus("server-cpus", "server-cpu", vec![0]),
            cpus("client-cpus", "client-cpu", vec![1]),
        )
    };
    let o = Opts {
        main_conns,
        counts,
        size: args.value("size", 64) as usize,
        warmup: parse_secs(&args, "warmup", if args.smoke { 0.2 } else { 1.0 }),
        duration: parse_secs(&args, "duration", if args.smoke { 0.5 } else { 5.0 }),
        rounds: if runs_given || args.smoke {
            args.runs
        } else {
            3
        },
        servers,
        loops,
        server_cpus,
        client_cpus,
        plot: args.string("plot").map(str::to_string),
        max_other: args
            .string("max-other")
            .map_or(0.15, |v| v.parse().unwrap_or(0.15)),
        retries: if args.smoke {
            0
        } else {
            args.value("retries", 4) as usize
        },
        quiet_wait: Duration::from_secs(if args.smoke {
            0
        } else {
            args.value("quiet-wait", 120)
        }),
    };
    if o.duration <= 0.0 || o.size == 0 {
        eprintln!("error: --duration and --size must be more than 0");
        return ExitCode::from(2);
    }
    let bins = match Bins::find(args.string("bin-dir")) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("echo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let can_pin = Path::new("/usr/bin/taskset").exists() || which("taskset");
    let all_allowed = |l: &[usize]| !l.is_empty() && l.iter().all(|c| allowed.contains(c));
    let can_pin = can_pin
        && (o.loops > 1 || o.server_cpus != o.client_cpus)
        && all_allowed(&o.server_cpus)
        && all_allowed(&o.client_cpus);
    if can_pin {
        // The driver mostly sleeps; keep it off the server's core.
        common::pin_current_thread(*o.client_cpus.last().expect("checked"));
    } else {
        eprintln!(
            "echo: cannot pin the server to CPUs {} and the client to CPUs {} (allowed CPUs: {allowed:?}); running unpinned",
            cpu_list(&o.server_cpus), cpu_list(&o.client_cpus)
        );
    }
    println!(
        "echo: servers {:?}, {} loop(s)/worker(s), connections {:?} (main {}), {} B, warm-up {} s, window {} s, {} round(s), server on CPUs {}, client on CPUs {}{}",
        o.servers.iter().map(|s| s.name()).collect::<Vec<_>>(),
        o.loops,
        o.counts,
        o.main_conns,
        o.size,
        o.warmup,
        o.duration,
        o.rounds,
        cpu_list(&o.server_cpus),
        cpu_list(&o.client_cpus),
        if can_pin { "" } else { " (NOT pinned)" },
    );

    // (server, conns) -> runs
    let mut results: BTreeMap<(Server, usize), Vec<Run>> = BTreeMap::new();
    let mut unavailable: BTreeMap<Server, String> = BTreeMap::new();
    let mut k = 0usize;
    for round in 0..o.rounds {
        for &conns in &o.counts {
            let mut order = o.servers.clone();
            let len = order.len();
            order.rotate_left(k % len.max(1));
            k += 1;
            for server in order {
                if unavailable.contains_key(&server) {
                    continue;
                }
                let mut attempt = Err(String::new());
                for tries in 0..=o.retries.max(1) {
                    if !o.quiet_wait.is_zero() {
                        wait_quiet(o.quiet_wait, o.max_other);
                    }
                    attempt = run_once(&bins, &o, can_pin, server, conns);
                    match &attempt {
                        Err(e) if tries == 0 => {
                            eprintln!(
                                "echo: {} at {conns} connections failed: {e}; retrying",
                                server.name()
                            );
                        }
                        Err(_) => break,
                        Ok(r) if r.other_cpu > o.max_other && tries < o.retries => {
                            eprintln!(
                                "echo: {} at {conns} connections: the rest of the machine used {:.2} CPUs during the window; redoing the run",
                                server.name(),
                                r.other_cpu
                            );
                        }
                        Ok(_) => break,
                    }
                }
                match attempt {
                    Ok(r) => {
                        println!(
                            "round {}/{} conns={conns:<3} {:<12} {:>8} req/s ({} echoes)  server {:.3} s CPU = {:.2} us/echo (user {:.2}, util {:.2})  client util {:.2}  p50 {} us p99 {} us  other_cpu {:.2} steal {:.2} load1 {:.2}",
                            round + 1,
                            o.rounds,
                            server.name(),
                            si(r.rps),
                            r.requests,
                            r.server_cpu,
                            r.cpu_per_echo * 1e6,
                            r.user_per_echo * 1e6,
                            r.server_util,
                            r.client_util,
                            r.p50_us,
                            r.p99_us,
                            r.other_cpu,
                            r.steal_cpu,
                            r.load1,
                        );
                        results.entry((server, conns)).or_default().push(r);
                    }
                    Err(e)
                        if server == Server::JzxUring
                            && !results.keys().any(|(s, _)| *s == server)
                            && (e.starts_with("jzx-io_uring: exited")
                                || e.contains("not on io_uring")) =>
                    {
                        // io_uring may be unavailable (seccomp, old kernel):
                        // the server cannot start on it. Skip it.
                        eprintln!("echo: {} unavailable, skipped: {e}", server.name());
                        unavailable.insert(server, e);
                    }
                    Err(e) => {
                        eprintln!(
                            "echo: FAILED: {} at {conns} connections: {e}",
                            server.name()
                        );
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }

    let median = |s: Server, c: usize, f: fn(&Run) -> f64| -> Option<Stats> {
        let v: Vec<f64> = results.get(&(s, c))?.iter().map(f).collect();
        (!v.is_empty()).then(|| Stats::of(&v))
    };
    let other_max = results
        .values()
        .flatten()
        .map(|r| r.other_cpu)
        .fold(f64::NAN, f64::max);
    let steal_max = results
        .values()
        .flatten()
        .map(|r| r.steal_cpu)
        .fold(f64::NAN, f64::max);
    let load_max = results
        .values()
        .flatten()
        .map(|r| r.load1)
        .fold(f64::NAN, f64::max);

    // BENCH lines: per jzx backend, the main count (CPU per echo) and the
    // other counts (req/s).
    for jzx in [Server::JzxUring, Server::JzxEpoll] {
        let backend = jzx.backend().expect("jzx");
        for &conns in &o.counts {
            let (Some(j), Some(t)) = (
                results.get(&(jzx, conns)),
                results.get(&(Server::Tokio, conns)),
            ) else {
                continue;
            };
            let rps_j = Stats::of(&j.iter().map(|r| r.rps).collect::<Vec<_>>());
            let rps_t = Stats::of(&t.iter().map(|r| r.rps).collect::<Vec<_>>());
            let cpu_j = Stats::of(&j.iter().map(|r| r.cpu_per_echo).collect::<Vec<_>>());
            let cpu_t = Stats::of(&t.iter().map(|r| r.cpu_per_echo).collect::<Vec<_>>());
            let util_j = Stats::of(&j.iter().map(|r| r.server_util).collect::<Vec<_>>());
            let util_t = Stats::of(&t.iter().map(|r| r.server_util).collect::<Vec<_>>());
            // Per-round ratios (runs of the same round saw the same noise).
            let paired = |f: fn(&Run) -> f64| {
                let v: Vec<f64> = j.iter().zip(t).map(|(a, b)| f(a) / f(b)).collect();
                Stats::of(&v).median
            };
            let rps_ratio = rps_j.median / rps_t.median;
            let window = format!("{}s", o.duration);
            if conns == o.main_conns {
                let samples = Samples {
                    jzx: j.iter().map(|r| r.cpu_per_echo).collect(),
                    tokio: t.iter().map(|r| r.cpu_per_echo).collect(),
                };
                let report = if o.loops > 1 {
                    // N loops against tokio's multi-thread runtime with N
                    // workers: a separate line and target.
                    Report::new(
                        "echo_loops",
                        Kind::Micros { unit: "us/echo" },
                        &samples,
                        false,
                        1.0,
                    )
                    .param("loops", o.loops)
                } else {
                    Report::new(
                        "echo",
                        Kind::Micros { unit: "us/echo" },
                        &samples,
                        false,
                        0.9,
                    )
                };
                report
                    .param("conns", conns)
                    .param("size", o.size)
                    .param("window", &window)
                    .param("metric", "server_cpu_per_echo")
                    .context(backend, o.server_cpus.len())
                    .extra("jzx_rps", si(rps_j.median))
                    .extra("tokio_rps", si(rps_t.median))
                    .extra("rps_ratio", format!("{rps_ratio:.2}"))
                    .extra("paired_ratio", format!("{:.2}", paired(|r| r.cpu_per_echo)))
                    .extra(
                        "user_us/echo",
                        format!(
                            "{:.2}/{:.2}",
                            Stats::of(&j.iter().map(|r| r.user_per_echo * 1e6).collect::<Vec<_>>())
                                .median,
                            Stats::of(&t.iter().map(|r| r.user_per_echo * 1e6).collect::<Vec<_>>())
                                .median
                        ),
                    )
                    .extra("paired_rps_ratio", format!("{:.2}", paired(|r| r.rps)))
                    .extra(
                        "jzx_rps[min,med,max]",
                        format!("{},{},{}", si(rps_j.min), si(rps_j.median), si(rps_j.max)),
                    )
                    .extra(
                        "tokio_rps[min,med,max]",
                        format!("{},{},{}", si(rps_t.min), si(rps_t.median), si(rps_t.max)),
                    )
                    .extra(
                        "server_util",
                        format!("{:.2}/{:.2}", util_j.median, util_t.median),
                    )
                    .extra("other_cpu_max", format!("{other_max:.2}"))
                    .extra("steal_max", format!("{steal_max:.2}"))
                    .extra("load1_max", format!("{load_max:.2}"))
                    .check("rps>=1.0x", rps_ratio >= 1.0)
                    .print();
            } else {
                let samples = Samples {
                    jzx: j.iter().map(|r| 1.0 / r.rps).collect(),
                    tokio: t.iter().map(|r| 1.0 / r.rps).collect(),
                };
                let report = Report::new(
                    if o.loops > 1 {
                        "echo_loops_sweep"
                    } else {
                        "echo_sweep"
                    },
                    Kind::Rate {
                        count: 1.0,
                        unit: "/s",
                    },
                    &samples,
                    true,
                    1.0,
                );
                let report = if o.loops > 1 {
                    report.param("loops", o.loops)
                } else {
                    report
                };
                report
                    .param("conns", conns)
                    .param("size", o.size)
                    .param("window", &window)
                    .param("metric", "req/s")
                    .context(backend, o.server_cpus.len())
                    .extra("jzx_us_per_echo", format!("{:.2}", cpu_j.median * 1e6))
                    .extra("tokio_us_per_echo", format!("{:.2}", cpu_t.median * 1e6))
                    .extra("cpu_ratio", format!("{:.2}", cpu_j.median / cpu_t.median))
                    .extra(
                        "server_util",
                        format!("{:.2}/{:.2}", util_j.median, util_t.median),
                    )
                    .print();
            }
        }
    }

    // A table of medians.
    println!();
    println!(
        "medians over {} round(s) (req/s | server CPU us per echo | server util):",
        o.rounds
    );
    let mut head = format!("{:>6}", "conns");
    for s in &o.servers {
        let _ = write!(head, " | {:^30}", s.name());
    }
    println!("{head}");
    for &c in &o.counts {
        let mut line = format!("{c:>6}");
        for &s in &o.servers {
            match (
                median(s, c, |r| r.rps),
                median(s, c, |r| r.cpu_per_echo),
                median(s, c, |r| r.server_util),
            ) {
                (Some(r), Some(cpu), Some(u)) => {
                    let _ = write!(
                        line,
                        " | {:>8} {:>6.2} us {:>6.2}      ",
                        si(r.median),
                        cpu.median * 1e6,
                        u.median
                    );
                }
                _ => {
                    let _ = write!(line, " | {:^30}", "-");
                }
            }
        }
        println!("{line}");
    }
    for (s, e) in &unavailable {
        println!("{}: unavailable ({e})", s.name());
    }

    if let Some(path) = &o.plot {
        let series: Vec<Series> = o
            .servers
            .iter()
            .filter(|s| !unavailable.contains_key(s))
            .map(|&s| Series {
                server: s,
                points: o
                    .counts
                    .iter()
                    .filter_map(|&c| {
                        Some((
                            c,
                            median(s, c, |r| r.rps)?,
                            median(s, c, |r| r.cpu_per_echo)?,
                        ))
                    })
                    .collect(),
            })
            .collect();
        let note = [
            format!(
                "{} B requests, {} s window after {} s warm-up; median of {} round(s), whiskers min–max",
                o.size, o.duration, o.warmup, o.rounds
            ),
            format!(
                "server pinned to CPU {}, load client (echo_bench, 1 thread) on CPU {}; {}",
                cpu_list(&o.server_cpus),
                cpu_list(&o.client_cpus),
                machine()
            ),
        ];
        match std::fs::write(path, svg(&series, &o.counts, &note)) {
            Ok(()) => println!("plot: {path}"),
            Err(e) => {
                eprintln!("echo: cannot write {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// "2 CPUs, MODEL, Linux RELEASE".
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    format!("{cpus} CPUs, {model}, Linux {release}")
}

/// One server's medians, by connection count.
struct Series {
    server: Server,
    points: Vec<(usize, Stats, Stats)>,
}

impl Series {
    fn style(&self) -> (&'static str, &'static str) {
        match self.server {
            Server::JzxUring => ("#1f77b4", "circle"),
            Server::JzxEpoll => ("#d62728", "square"),
            Server::Tokio => ("#2ca02c", "triangle"),
        }
    }
}

/// A "nice" axis maximum and step for values up to `max`.
fn nice_axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn marker(out: &mut String, shape: &str, x: f64, y: f64, color: &str) {
    let _ = match shape {
        "circle" => writeln!(
            out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{color}" stroke="white" stroke-width="1"/>"#
        ),
        "square" => writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="9" height="9" fill="{color}" stroke="white" stroke-width="1"/>"#,
            x - 4.5,
            y - 4.5
        ),
        _ => writeln!(
            out,
            r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{color}" stroke="white" stroke-width="1"/>"#,
            x,
            y - 5.5,
            x - 5.0,
            y + 4.0,
            x + 5.0,
            y + 4.0
        ),
    };
}

/// Two panels: req/s and server CPU µs per echo against connection count
/// (log scale), one polyline with markers and min–max whiskers per server.
fn svg(series: &[Series], counts: &[usize], note: &[String; 2]) -> String {
    let (w, h) = (1000.0, 480.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Echo over loopback: jzx (io_uring, epoll) vs a tokio current-thread server</text>"#,
        w / 2.0
    );
    for (i, line) in note.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#444">{}</text>"##,
            w / 2.0,
            42 + 14 * i,
            esc(line)
        );
    }
    let cmin = counts.iter().copied().min().unwrap_or(1).max(1) as f64;
    let cmax = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let (lx0, lx1) = (cmin.log10() - 0.15, cmax.log10() + 0.15);
    type Pick = fn(&(usize, Stats, Stats)) -> Stats;
    let panels: [(&str, Pick, f64, &str); 2] = [
        (
            "Requests per second (higher is better)",
            |p| p.1,
            1.0,
            "req/s",
        ),
        (
            "Server CPU time per echo, µs (lower is better)",
            |p| p.2,
            1e6,
            "µs",
        ),
    ];
    for (i, (title, pick, scale, unit)) in panels.iter().enumerate() {
        let (x0, y0, pw, ph) = (80.0 + i as f64 * 490.0, 96.0, 390.0, 290.0);
        let ymax_data = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| pick(p).max * scale))
            .fold(0.0, f64::max);
        let (ymax, step) = nice_axis(ymax_data * 1.05);
        let px = |c: f64| x0 + (c.log10() - lx0) / (lx1 - lx0) * pw;
        let py = |v: f64| y0 + ph - v / ymax * ph;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="13" font-weight="bold">{}</text>"#,
            x0 + pw / 2.0,
            y0 - 12.0,
            esc(title)
        );
        // Grid and y ticks.
        let mut v = 0.0;
        while v <= ymax + step * 1e-6 {
            let y = py(v);
            let _ = writeln!(
                out,
                r##"<line x1="{x0}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##,
                x0 + pw
            );
            let label = if *unit == "req/s" {
                si(v)
            } else {
                format!("{v:.1}")
            };
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{label}</text>"#,
                x0 - 6.0,
                y + 4.0
            );
            v += step;
        }
        // x ticks at the counts measured.
        for &c in counts {
            let x = px(c as f64);
            let _ = writeln!(
                out,
                r##"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{}" stroke="#eee"/>"##,
                y0 + ph
            );
            let _ = writeln!(
                out,
                r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="black"/>"#,
                y0 + ph,
                y0 + ph + 5.0
            );
            let _ = writeln!(
                out,
                r#"<text x="{x:.1}" y="{}" text-anchor="middle">{c}</text>"#,
                y0 + ph + 18.0
            );
        }
        // Axes.
        let _ = writeln!(
            out,
            r#"<polyline points="{x0},{y0} {x0},{} {},{}" fill="none" stroke="black"/>"#,
            y0 + ph,
            x0 + pw,
            y0 + ph
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">connections (log scale)</text>"#,
            x0 + pw / 2.0,
            y0 + ph + 36.0
        );
        let _ = writeln!(
            out,
            r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">{}</text>"#,
            x0 - 58.0,
            y0 + ph / 2.0,
            unit
        );
        // Series.
        for (k, s) in series.iter().enumerate() {
            let (color, shape) = s.style();
            // Whiskers side by side, so that they do not hide each other.
            let dx = (k as f64 - (series.len() as f64 - 1.0) / 2.0) * 7.0;
            let pts: Vec<String> = s
                .points
                .iter()
                .map(|p| format!("{:.1},{:.1}", px(p.0 as f64), py(pick(p).median * scale)))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                pts.join(" ")
            );
            for p in &s.points {
                let st = pick(p);
                let x = px(p.0 as f64);
                let (ylo, yhi) = (py(st.min * scale), py(st.max * scale));
                if (ylo - yhi).abs() > 0.5 {
                    let wx = x + dx;
                    let _ = writeln!(
                        out,
                        r#"<path d="M{wx:.1},{ylo:.1}V{yhi:.1}M{:.1},{ylo:.1}h6M{:.1},{yhi:.1}h6" stroke="{color}" stroke-width="1.2" fill="none" opacity="0.8"/>"#,
                        wx - 3.0,
                        wx - 3.0
                    );
                }
                marker(&mut out, shape, x, py(st.median * scale), color);
            }
        }
    }
    // Legend, below the panels.
    let ly = h - 30.0;
    let mut lx = 150.0;
    for s in series {
        let (color, shape) = s.style();
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"/>"#,
            lx + 30.0
        );
        marker(&mut out, shape, lx + 15.0, ly, color);
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 38.0,
            ly + 4.0,
            esc(s.server.label())
        );
        lx += 250.0;
    }
    out.push_str("</svg>\n");
    out
}
