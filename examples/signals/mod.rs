//! Stopping an example server on SIGINT or SIGTERM, shared by
//! `examples/echo_server.rs` and `examples/echo_tokio.rs`: block both
//! signals before any thread starts, then wait for them on a thread of their
//! own. The first one calls back; a second one exits at once (status 130).

/// Blocks SIGINT and SIGTERM in the calling thread (and the threads it
/// starts later); returns the set for [`wait_for_stop_signals`].
pub fn block_stop_signals() -> std::io::Result<libc::sigset_t> {
    // SAFETY: an all-zero sigset_t is a valid value; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t; the signal numbers are valid.
    let rc = unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(set)
}

/// Waits for the signals of `set`: the first is handed to `on_first`, a
/// second one exits the process at once. `prog` prefixes the messages.
pub fn wait_for_stop_signals(set: libc::sigset_t, prog: &str, on_first: impl FnOnce(libc::c_int)) {
    let mut on_first = Some(on_first);
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is an initialised signal set, `sig` a valid out-pointer.
        let rc = unsafe { libc::sigwait(&set, &mut sig) };
        if rc != 0 {
            eprintln!(
                "{prog}: sigwait failed: {}",
                std::io::Error::from_raw_os_error(rc)
            );
            return;
        }
        match on_first.take() {
            Some(f) => f(sig),
            None => {
                eprintln!("{prog}: second signal, exiting now");
                std::process::exit(130);
            }
        }
    }
}
