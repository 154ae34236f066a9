//! A TCP echo server on jzx: one listener actor, one actor per connection,
//! readiness from libxev (io_uring, or epoll where io_uring is unavailable;
//! `JZX_BACKEND=epoll|io_uring` chooses). The actors live in
//! `examples/echo/mod.rs`, which the integration tests share.
//!
//! Run with `cargo run --release --example echo_server [PORT]` (default
//! 5555; 0 picks a free port). It listens on 0.0.0.0:PORT, prints the address,
//! the backend in use and how to connect (`nc 127.0.0.1 PORT`). It raises its
//! soft `RLIMIT_NOFILE` to the hard limit so it can hold many connections.
//!
//! **Stopping.** The server stops on SIGINT (Ctrl-C) or SIGTERM: both are
//! blocked in every thread and a dedicated thread waits for them
//! (`sigwait`), then asks the loop to stop through its `LoopHandle`. The loop
//! finishes its turn, the server prints its counters, closes every socket and
//! exits with status 0. A second signal while stopping exits at once (status
//! 130). Stdin is not read, so the server also runs as a background job or
//! under a supervisor whose stdin is closed.
mod echo;
mod signals;

use anyhow::Context as _;
use echo::Stats;
use jzx::Loop;
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

fn run() -> anyhow::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        None => 5555,
        Some(arg) => arg.parse().with_context(|| {
            format!("bad port {arg:?}; usage: echo_server [PORT] (default 5555)")
        })?,
    };
    // Before any thread exists, so that every thread inherits the mask and
    // the signals reach only the thread that waits for them.
    let signals = signals::block_stop_signals().context("cannot block SIGINT/SIGTERM")?;
    let nofile = raise_nofile_limit();

    let mut lp = Loop::new().context("cannot create the event loop")?;
    let server = echo::start(&mut lp, SocketAddr::from(([0, 0, 0, 0], port)))
        .with_context(|| format!("cannot listen on 0.0.0.0:{port}"))?;
    let port = server.local_addr.port();
    println!(
        "jzx echo server listening on {} (backend: {})",
        server.local_addr,
        lp.backend()
    );
    println!("connect with: nc 127.0.0.1 {port}");
    println!("stop with Ctrl-C or SIGTERM (open-file limit: {nofile})");

    let handle = lp.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            signals::wait_for_stop_signals(signals, "echo_server", |sig| {
                let name = if sig == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                println!("{name} received, stopping");
                handle.request_stop();
            })
        })
        .context("cannot start the signal thread")?;

    lp.run().context("the event loop failed")?;

    let s = &server.stats;
    println!(
        "stopped: {} connections accepted, {} still open, {} accept errors, {} bytes echoed",
        Stats::get(&s.accepted),
        Stats::get(&s.open),
        Stats::get(&s.accept_errors),
        Stats::get(&s.bytes_echoed),
    );
    println!("loop metrics: {}", lp.metrics());
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
