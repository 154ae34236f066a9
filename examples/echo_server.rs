//! A TCP echo server on jzx: one listener actor, one actor per connection,
//! readiness from libxev (io_uring, or epoll where io_uring is unavailable;
//! `JZX_BACKEND=epoll|io_uring` chooses). The actors live in
//! `examples/echo/mod.rs`, which the integration tests share.
//!
//! Run with `cargo run --release --example echo_server -- [PORT] [--loops N]`
//! (port 5555 by default; 0 picks a free port). It listens on 0.0.0.0:PORT,
//! prints the address, the backend in use and how to connect
//! (`nc 127.0.0.1 PORT`). It raises its soft `RLIMIT_NOFILE` to the hard
//! limit so it can hold many connections.
//!
//! **Loops.** By default (`--loops 1`) the server is one `Loop` on the main
//! thread. With `--loops N` it is a `Runtime` of N loops on N threads (SPEC
//! R29): every loop listens on the port with `SO_REUSEPORT` and the kernel
//! spreads the connections over them, each loop accepting and serving its
//! own. On exit it prints the totals, then one line per loop with what that
//! loop accepted and echoed and its metrics.
//!
//! **Stopping.** The server stops on SIGINT (Ctrl-C) or SIGTERM: both are
//! blocked in every thread and a dedicated thread waits for them
//! (`sigwait`), then asks the loop to stop through its `LoopHandle` (every
//! loop, through the `RuntimeHandle`, with `--loops N`). The loops finish
//! their turn, the server prints its counters, closes every socket and
//! exits with status 0. A second signal while stopping exits at once (status
//! 130). Stdin is not read, so the server also runs as a background job or
//! under a supervisor whose stdin is closed.
mod echo;
mod signals;

use anyhow::Context as _;
use echo::{Server, Stats};
use jzx::{BackendKind, Loop, Runtime};
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the command line asks for.
struct Options {
    port: u16,
    loops: usize,
}

const USAGE: &str = "usage: echo_server [PORT (5555)] [--loops N (1)]";

fn parse_args() -> anyhow::Result<Options> {
    let mut o = Options {
        port: 5555,
        loops: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--loops" => {
                o.loops = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| (1..=256).contains(n))
                    .with_context(|| format!("--loops needs a number from 1 to 256; {USAGE}"))?;
            }
            _ => {
                o.port = arg
                    .parse()
                    .with_context(|| format!("bad port {arg:?}; {USAGE}"))?;
            }
        }
    }
    Ok(o)
}

fn run() -> anyhow::Result<()> {
    let o = parse_args()?;
    // Before any thread exists, so that every thread inherits the mask and
    // the signals reach only the thread that waits for them.
    let signals = signals::block_stop_signals().context("cannot block SIGINT/SIGTERM")?;
    let nofile = raise_nofile_limit();
    let addr = SocketAddr::from(([0, 0, 0, 0], o.port));
    if o.loops == 1 {
        run_one_loop(addr, signals, nofile)
    } else {
        run_loops(addr, o.loops, signals, nofile)
    }
}

/// Prints how to connect and how to stop.
fn banner(local_addr: SocketAddr, backend: BackendKind, loops: &str, nofile: libc::rlim_t) {
    println!("jzx echo server listening on {local_addr} (backend: {backend}){loops}");
    println!("connect with: nc 127.0.0.1 {}", local_addr.port());
    println!("stop with Ctrl-C or SIGTERM (open-file limit: {nofile})");
}

/// Starts the thread that waits for SIGINT and SIGTERM and calls `stop`
/// on the first.
fn stop_on_signals(
    signals: libc::sigset_t,
    stop: impl FnOnce() + Send + 'static,
) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            signals::wait_for_stop_signals(signals, "echo_server", |sig| {
                let name = if sig == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                // Not println!: with stdout gone (a closed pipe) it would
                // panic this thread before it stops the loops.
                let _ = writeln!(std::io::stdout(), "{name} received, stopping");
                stop();
            })
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// The counters of all `servers`, summed.
fn totals<'a>(servers: impl IntoIterator<Item = &'a Server>) -> [u64; 4] {
    servers.into_iter().fold([0; 4], |t, server| {
        let s = &server.stats;
        [
            t[0] + Stats::get(&s.accepted),
            t[1] + Stats::get(&s.open),
            t[2] + Stats::get(&s.accept_errors),
            t[3] + Stats::get(&s.bytes_echoed),
        ]
    })
}

fn print_totals(t: [u64; 4]) {
    println!(
        "stopped: {} connections accepted, {} still open, {} accept errors, {} bytes echoed",
        t[0], t[1], t[2], t[3]
    );
}

/// One `Loop` on the main thread.
fn run_one_loop(
    addr: SocketAddr,
    signals: libc::sigset_t,
    nofile: libc::rlim_t,
) -> anyhow::Result<()> {
    let mut lp = Loop::new().context("cannot create the event loop")?;
    let server = echo::start(&mut lp, addr).with_context(|| format!("cannot listen on {addr}"))?;
    banner(server.local_addr, lp.backend(), "", nofile);
    let handle = lp.handle();
    stop_on_signals(signals, move || handle.request_stop())?;

    lp.run().context("the event loop failed")?;

    print_totals(totals([&server]));
    println!("loop metrics: {}", lp.metrics());
    Ok(())
}

/// A `Runtime` of `loops` loops on as many threads.
fn run_loops(
    addr: SocketAddr,
    loops: usize,
    signals: libc::sigset_t,
    nofile: libc::rlim_t,
) -> anyhow::Result<()> {
    let mut rt = Runtime::new(loops).context("cannot create the runtime")?;
    let servers = echo::start_on(&rt, addr).with_context(|| format!("cannot listen on {addr}"))?;
    let backend = rt.on_loop(0, |lp| lp.backend())?;
    banner(
        servers[0].local_addr,
        backend,
        &format!(" on {loops} loops (SO_REUSEPORT)"),
        nofile,
    );
    // Stops every loop.
    let handle = rt.handle();
    stop_on_signals(signals, move || handle.request_stop())?;

    rt.run().context("an event loop failed")?;

    print_totals(totals(&servers));
    for (index, server) in servers.iter().enumerate() {
        let s = &server.stats;
        let metrics = rt.on_loop(index, |lp| lp.metrics())?;
        println!(
            "loop {index}: {} connections accepted, {} bytes echoed; metrics: {metrics}",
            Stats::get(&s.accepted),
            Stats::get(&s.bytes_echoed),
        );
    }
    Ok(())
}

/// Raises the soft open-file limit to the hard limit; returns the soft limit
/// in force afterwards.
fn raise_nofile_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; a refusal leaves the limit as is.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        } else {
            eprintln!(
                "echo_server: cannot raise the open-file limit: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    lim.rlim_cur
}
