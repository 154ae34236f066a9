//! The baseline of the echo benchmark (SPEC §8): a TCP echo server as a tokio
//! user would write it. A current-thread runtime (`enable_all`, as
//! `#[tokio::main(flavor = "current_thread")]` builds it), one task per
//! connection, each reading into its own 64 KiB buffer and `write_all`-ing
//! back what it read. `benches/echo.rs` runs it against `echo_server`.
//! With `--workers N` the runtime is tokio's multi-thread one with N worker
//! threads (as `#[tokio::main(worker_threads = N)]` builds it; the
//! accepting task spawns each connection's task, which the workers share by
//! work stealing): the baseline of `echo_server --loops N`.
//!
//! ```text
//! cargo run --release --example echo_tokio -- [PORT] [--seconds S] [--workers N]
//! ```
//!
//! It listens on 127.0.0.1:PORT (default 5556; 0 picks a free port) and prints
//! `tokio echo server listening on ADDR`. It stops on SIGTERM or SIGINT (a
//! thread waits for them with `sigwait` and tells the runtime through a
//! oneshot channel), or after `--seconds S` when given; it then prints how
//! many connections it accepted and exits with status 0. A second signal while
//! stopping exits at once (status 130).
mod signals;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: echo_tokio [PORT (5556)] [--seconds S] [--workers N]";

/// Size of each connection's buffer (as in the jzx echo server).
const BUF_SIZE: usize = 64 * 1024;

fn main() -> ExitCode {
    let mut port: u16 = 5556;
    let mut seconds: Option<f64> = None;
    // 0: the current-thread runtime.
    let mut workers: usize = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(s) if s.is_finite() && s > 0.0 => seconds = Some(s),
                _ => return usage("--seconds needs a positive number"),
            },
            "--workers" => match args.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if n >= 1 => workers = n,
                _ => return usage("--workers needs a number of threads (at least 1)"),
            },
            "-h" | "--help" => return usage(""),
            _ => match arg.parse() {
                Ok(p) => port = p,
                Err(_) => return usage(&format!("bad port {arg:?}")),
            },
        }
    }

    // Before any thread exists, so that every thread inherits the mask and
    // the signals reach only the thread that waits for them.
    let signals = match signals::block_stop_signals() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("echo_tokio: cannot block SIGINT/SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    if let Err(e) = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            signals::wait_for_stop_signals(signals, "echo_tokio", |_| {
                let _ = stop_tx.send(());
            })
        })
    {
        eprintln!("echo_tokio: cannot start the signal thread: {e}");
        return ExitCode::FAILURE;
    }

    let built = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo_tokio: cannot build the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(port, seconds, workers, stop_rx)) {
        Ok(accepted) => {
            println!("stopped: {accepted} connections accepted");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("echo_tokio: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    if !msg.is_empty() {
        eprintln!("echo_tokio: {msg}");
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// Accepts until told to stop; returns the number of connections accepted.
async fn serve(
    port: u16,
    seconds: Option<f64>,
    workers: usize,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<u64> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let flavor = match workers {
        0 => "current-thread runtime".to_string(),
        n => format!("multi-thread runtime, {n} workers"),
    };
    println!(
        "tokio echo server listening on {} ({flavor})",
        listener.local_addr()?
    );
    // A far deadline stands for "no limit".
    let limit = tokio::time::sleep(seconds.map_or(Duration::from_secs(86_400 * 365), |s| {
        Duration::from_secs_f64(s)
    }));
    tokio::pin!(limit);
    let mut accepted = 0u64;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = &mut limit => break,
            res = listener.accept() => match res {
                Ok((sock, _)) => {
                    accepted += 1;
                    tokio::spawn(echo(sock));
                }
                // EMFILE and the like: back off briefly instead of spinning.
                Err(e) => {
                    eprintln!("echo_tokio: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    Ok(accepted)
}

/// One connection: read, write back, until EOF or an error.
async fn echo(mut sock: TcpStream) {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if sock.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
