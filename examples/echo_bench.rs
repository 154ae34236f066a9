//! A load client for the echo server: request/response ping-pong over many
//! connections, every echoed byte verified.
//!
//! ```text
//! cargo run --release --example echo_bench -- [--addr 127.0.0.1:5555]
//!     [--connections 50] [--size 64] [--duration 5] [--warmup 1] [--threads 1]
//! ```
//!
//! Each connection sends a request of `--size` random bytes (xorshift), reads
//! the echo, checks it byte for byte against what it sent, and sends the next
//! request at once. Connections are spread over `--threads` threads, each
//! running a `poll(2)` loop over its connections (non-blocking sockets,
//! `TCP_NODELAY`; a connection reads while it writes, so requests larger than
//! the socket buffers cannot deadlock). Requests completed during the first
//! `--warmup` seconds are not counted; then for `--duration` seconds each
//! completed request's latency (first byte written to last byte read, in
//! microseconds) is recorded. The report gives requests per second and the
//! latency percentiles p50/p99/p99.9 over all connections. The client stops by
//! itself; a wrong echo, a closed connection or any socket error is reported
//! with its details and exits with status 1 (bad arguments: status 2).
//!
//! Only loopback addresses are accepted: this is a benchmark, not a load
//! generator for other people's machines.
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
struct Options {
    addr: SocketAddr,
    connections: usize,
    size: usize,
    duration: Duration,
    warmup: Duration,
    threads: usize,
}

const USAGE: &str = "usage: echo_bench [--addr 127.0.0.1:5555] [--connections 50] [--size 64] \
                     [--duration SECS (5)] [--warmup SECS (1)] [--threads 1]";

fn parse_args() -> Result<Options, String> {
    let mut addr = "127.0.0.1:5555".to_string();
    let mut o = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 5555)),
        connections: 50,
        size: 64,
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        threads: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v:?}\n{USAGE}"))
        };
        let secs = |v: &str| -> Result<Duration, String> {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{flag}: not a number of seconds: {v:?}\n{USAGE}"))
        };
        match flag.as_str() {
            "--addr" => addr = value,
            "--connections" => o.connections = num(&value)? as usize,
            "--size" => o.size = num(&value)? as usize,
            "--duration" => o.duration = secs(&value)?,
            "--warmup" => o.warmup = secs(&value)?,
            "--threads" => o.threads = num(&value)? as usize,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if o.connections == 0 || o.size == 0 || o.threads == 0 {
        return Err(format!(
            "--connections, --size and --threads must be at least 1\n{USAGE}"
        ));
    }
    if o.duration.is_zero() {
        return Err(format!("--duration must be more than 0\n{USAGE}"));
    }
    let resolved: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("--addr {addr}: {e}"))?
        .collect();
    o.addr = *resolved
        .first()
        .ok_or_else(|| format!("--addr {addr}: no address"))?;
    if let Some(bad) = resolved.iter().find(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "--addr {addr}: {} is not a loopback address; echo_bench only targets this machine",
            bad.ip()
        ));
    }
    o.threads = o.threads.min(o.connections);
    Ok(o)
}

/// xorshift64*: fast, deterministic per seed, good enough for payloads.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let n = rest.len();
        rest.copy_from_slice(&self.next().to_le_bytes()[..n]);
    }
}

/// One connection's ping-pong state.
struct Conn {
    index: usize,
    stream: TcpStream,
    rng: XorShift,
    request: Vec<u8>,
    reply: Vec<u8>,
    sent: usize,
    received: usize,
    requests: u64,
    started: Instant,
}

impl Conn {
    fn next_request(&mut self) {
        self.rng.fill(&mut self.request);
        self.sent = 0;
        self.received = 0;
        self.started = Instant::now();
    }

    /// Writes what it can of the request.
    fn write_some(&mut self) -> io::Result<()> {
        while self.sent < self.request.len() {
            match (&self.stream).write(&self.request[self.sent..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads what it can of the reply and checks it; `Ok(true)` when the
    /// whole reply is in.
    fn read_some(&mut self) -> Result<bool, String> {
        let size = self.request.len();
        while self.received < size {
            // Never read past this request: bytes beyond it would be the
            // server echoing more than it was sent, caught by the next check.
            match (&self.stream).read(&mut self.reply[self.received..size]) {
                Ok(0) => {
                    return Err(format!(
                        "connection {}: server closed the connection during request {} \
                         ({} of {size} bytes received)",
                        self.index, self.requests, self.received
                    ))
                }
                Ok(n) => {
                    let (from, to) = (self.received, self.received + n);
                    if to > self.sent || self.reply[from..to] != self.request[from..to] {
                        let bad = (from..to)
                            .find(|&i| i >= self.sent || self.reply[i] != self.request[i])
                            .unwrap_or(from);
                        return Err(format!(
                            "connection {}: request {}: wrong echo at byte {bad} of {size}: \
                             expected {}, got {:#04x} ({} bytes sent so far)",
                            self.index,
                            self.requests,
                            if bad < self.sent {
                                format!("{:#04x}", self.request[bad])
                            } else {
                                "nothing (byte not sent yet)".to_string()
                            },
                            self.reply[bad],
                            self.sent
                        ));
                    }
                    self.received = to;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => {
                    return Err(format!(
                        "connection {}: read failed during request {}: {e}",
                        self.index, self.requests
                    ))
                }
            }
        }
        Ok(true)
    }
}

/// What one thread measured.
#[derive(Default)]
struct Outcome {
    latencies_us: Vec<u32>,
    warm_requests: u64,
}

/// Drives `conns` until `end`; counts from `measure_from`.
fn drive(mut conns: Vec<Conn>, measure_from: Instant, end: Instant) -> Result<Outcome, String> {
    let mut out = Outcome::default();
    let mut fds: Vec<libc::pollfd> = conns
        .iter()
        .map(|c| libc::pollfd {
            fd: c.stream.as_raw_fd(),
            events: 0,
            revents: 0,
        })
        .collect();
    for c in &mut conns {
        c.next_request();
        c.write_some()
            .map_err(|e| format!("connection {}: write failed: {e}", c.index))?;
    }
    loop {
        let now = Instant::now();
        if now >= end {
            return Ok(out);
        }
        for (p, c) in fds.iter_mut().zip(&conns) {
            p.events = libc::POLLIN;
            if c.sent < c.request.len() {
                p.events |= libc::POLLOUT;
            }
            p.revents = 0;
        }
        let timeout_ms = (end - now).as_millis().clamp(1, 100) as libc::c_int;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("poll failed: {e}"));
        }
        for (p, c) in fds.iter().zip(conns.iter_mut()) {
            if p.revents == 0 {
                continue;
            }
            if p.revents & libc::POLLOUT != 0 {
                c.write_some().map_err(|e| {
                    format!(
                        "connection {}: write failed during request {}: {e}",
                        c.index, c.requests
                    )
                })?;
            }
            if p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 && c.read_some()? {
                let done = Instant::now();
                if c.started >= measure_from {
                    let us = done.duration_since(c.started).as_micros();
                    out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                } else {
                    out.warm_requests += 1;
                }
                c.requests += 1;
                c.next_request();
                c.write_some().map_err(|e| {
                    format!(
                        "connection {}: write failed during request {}: {e}",
                        c.index, c.requests
                    )
                })?;
            }
        }
    }
}

/// Raises the soft open-file limit to the hard limit (many connections).
fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 && lim.rlim_cur < lim.rlim_max
    {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit; a refusal leaves the limit as is.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("echo_bench: {e}");
            return ExitCode::from(2);
        }
    };
    raise_nofile_limit();

    let mut conns = Vec::with_capacity(o.connections);
    for index in 0..o.connections {
        let stream = match TcpStream::connect_timeout(&o.addr, Duration::from_secs(5)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("echo_bench: connection {index} to {} failed: {e}", o.addr);
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = stream
            .set_nodelay(true)
            .and_then(|()| stream.set_nonblocking(true))
        {
            eprintln!("echo_bench: connection {index}: cannot configure the socket: {e}");
            return ExitCode::FAILURE;
        }
        conns.push(Conn {
            index,
            stream,
            rng: XorShift::new(index as u64 + 1),
            request: vec![0; o.size],
            reply: vec![0; o.size],
            sent: 0,
            received: 0,
            requests: 0,
            started: Instant::now(),
        });
    }

    println!(
        "echo_bench: {} connections to {}, {} B requests, {} thread(s), warm-up {:?}, measuring {:?}",
        o.connections, o.addr, o.size, o.threads, o.warmup, o.duration
    );
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let mut groups: Vec<Vec<Conn>> = (0..o.threads).map(|_| Vec::new()).collect();
    for (i, c) in conns.into_iter().enumerate() {
        groups[i % o.threads].push(c);
    }
    let workers: Vec<_> = groups
        .into_iter()
        .map(|g| std::thread::spawn(move || drive(g, measure_from, end)))
        .collect();

    let mut latencies = Vec::new();
    let mut failed = false;
    for w in workers {
        match w.join() {
            Ok(Ok(out)) => latencies.extend(out.latencies_us),
            Ok(Err(e)) => {
                eprintln!("echo_bench: FAILED: {e}");
                failed = true;
            }
            Err(_) => {
                eprintln!("echo_bench: FAILED: a worker thread panicked");
                failed = true;
            }
        }
    }
    if failed {
        return ExitCode::FAILURE;
    }
    let measured = end.saturating_duration_since(measure_from.max(start));
    latencies.sort_unstable();
    let n = latencies.len();
    if n == 0 {
        eprintln!("echo_bench: FAILED: no request completed during the measurement");
        return ExitCode::FAILURE;
    }
    println!(
        "requests: {n} in {:.2} s = {:.0} req/s ({} B each way, all verified)",
        measured.as_secs_f64(),
        n as f64 / measured.as_secs_f64(),
        o.size
    );
    println!(
        "latency us: p50 {} p99 {} p999 {} max {}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        latencies[n - 1]
    );
    ExitCode::SUCCESS
}
