//! The system's monotonic clock, read two ways: precisely, and coarsely.
//!
//! A loop checks its timers every turn; the precise clock costs a few tens
//! of nanoseconds a read (more on some virtual machines), the coarse one a
//! few. The coarse clock is the precise one as of the system's last tick:
//! on Linux `CLOCK_MONOTONIC_COARSE`, never ahead of `CLOCK_MONOTONIC`
//! (same origin), behind it by about one tick (1–10 ms) and, rarely, a
//! little more. A deadline is therefore only ever *ruled out* with the
//! coarse clock; whether it has come is decided by the precise one. Where
//! the system has no coarse clock, the coarse read is the precise one.
//!
//! Both count nanoseconds from an unspecified origin (the same for both).

/// Nanoseconds on the precise monotonic clock (`CLOCK_MONOTONIC`, the clock
/// `std::time::Instant` reads on Linux).
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC)
}

/// Nanoseconds on the coarse monotonic clock: never ahead of
/// [`monotonic_ns`], behind it by about [`coarse_step_ns`] (see the module's
/// doc).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
pub(crate) fn coarse_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC_COARSE)
}

/// Nanoseconds on the coarse monotonic clock: here the precise one (the
/// system has no coarse variant of the same origin).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
pub(crate) fn coarse_ns() -> u64 {
    monotonic_ns()
}

/// The coarse clock's step (its resolution, the system's tick), in
/// nanoseconds; 0 where the coarse clock is the precise one.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn coarse_step_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call.
    let rc = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        // Unknown: assume a slow tick (100 Hz).
        return 10_000_000;
    }
    to_ns(&ts)
}

/// The coarse clock's step: 0, the coarse clock being the precise one.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn coarse_step_ns() -> u64 {
    0
}

#[inline]
fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call; a monotonic
    // clock id the system defines cannot fail.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(rc, 0, "clock_gettime failed");
    to_ns(&ts)
}

#[inline]
fn to_ns(ts: &libc::timespec) -> u64 {
    // A monotonic clock's fields are never negative.
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_is_never_ahead_of_the_precise_one() {
        for _ in 0..100_000 {
            let coarse = coarse_ns();
            let precise = monotonic_ns();
            assert!(coarse <= precise, "coarse {coarse} > precise {precise}");
        }
    }

    #[test]
    fn the_precise_clock_never_goes_back_and_moves() {
        let first = monotonic_ns();
        let mut last = first;
        while last - first < 2_000_000 {
            let now = monotonic_ns();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn the_coarse_clock_follows_the_precise_one() {
        // Within a second of it, and moving: busy for three of its steps
        // (at least 3 ms), it has moved.
        let step = coarse_step_ns().max(1_000_000);
        let start = coarse_ns();
        assert!(monotonic_ns() - start < 1_000_000_000);
        while monotonic_ns() - start < 3 * step {
            std::hint::spin_loop();
        }
        assert!(coarse_ns() > start);
    }
}
