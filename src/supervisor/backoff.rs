//! Restart backoff: how long a supervisor waits before restarting a child
//! (R23).

use std::time::Duration;

/// The shape of a backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BackoffKind {
    /// No growth: the delay is the base (the child's restart delay).
    #[default]
    None,
    /// `base + step·n` for the n-th consecutive restart (n from 1).
    Constant,
    /// `(base, or step when base is 0)·2^n` for the n-th consecutive restart.
    Exponential,
}

/// A restart backoff policy: a kind, its base and step, a maximum delay,
/// optional jitter, and a reset after a stable period.
///
/// `n` counts consecutive restarts of one child from 1; it goes back to 0
/// once the child has run for `reset_after` without failing.
///
/// # Examples
///
/// ```
/// use jzx::Backoff;
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let constant = Backoff::constant(ms(0), ms(50));
/// assert_eq!(constant.delay(1), ms(50));
/// assert_eq!(constant.delay(2), ms(100));
///
/// let exp = Backoff::exponential(ms(20), ms(0)).max_delay(ms(100));
/// assert_eq!(exp.delay(1), ms(40));
/// assert_eq!(exp.delay(2), ms(80));
/// assert_eq!(exp.delay(3), ms(100)); // capped
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// The shape.
    pub kind: BackoffKind,
    /// The base delay.
    pub base: Duration,
    /// The step (constant) or the base used when `base` is 0 (exponential).
    pub step: Duration,
    /// No delay exceeds this (default: 1 minute).
    pub max: Duration,
    /// A random extra delay in `[0, jitter]` is added (default: none).
    pub jitter: Duration,
    /// After running this long, a child's restart count `n` starts again
    /// (default: 10 s).
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::none()
    }
}

impl Backoff {
    /// No backoff: restart after the child's restart delay.
    pub fn none() -> Backoff {
        Backoff {
            kind: BackoffKind::None,
            base: Duration::ZERO,
            step: Duration::ZERO,
            max: Duration::from_secs(60),
            jitter: Duration::ZERO,
            reset_after: Duration::from_secs(10),
        }
    }

    /// `base + step·n`.
    pub fn constant(base: Duration, step: Duration) -> Backoff {
        Backoff {
            kind: BackoffKind::Constant,
            base,
            step,
            ..Backoff::none()
        }
    }

    /// `(base or step)·2^n`.
    pub fn exponential(base: Duration, step: Duration) -> Backoff {
        Backoff {
            kind: BackoffKind::Exponential,
            base,
            step,
            ..Backoff::none()
        }
    }

    /// With a maximum delay.
    pub fn max_delay(mut self, max: Duration) -> Backoff {
        self.max = max;
        self
    }

    /// With random jitter up to `jitter`.
    pub fn jitter(mut self, jitter: Duration) -> Backoff {
        self.jitter = jitter;
        self
    }

    /// With the stable period after which `n` resets.
    pub fn reset_after(mut self, period: Duration) -> Backoff {
        self.reset_after = period;
        self
    }

    /// The delay before the `n`-th consecutive restart, without jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let d = match self.kind {
            BackoffKind::None => self.base,
            BackoffKind::Constant => self.base.saturating_add(self.step.saturating_mul(n)),
            BackoffKind::Exponential => {
                let unit = if self.base.is_zero() {
                    self.step
                } else {
                    self.base
                };
                let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
                unit.saturating_mul(factor)
            }
        };
        d.min(self.max)
    }

    /// The delay with jitter drawn from `rng` (a xorshift state).
    pub(crate) fn delay_jittered(&self, n: u32, rng: &mut u64) -> Duration {
        let d = self.delay(n);
        if self.jitter.is_zero() {
            return d;
        }
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        // In u128, `span + 1` cannot overflow (a `Duration` holds fewer than
        // 2^95 ns), and the remainder of a u64 fits a u64.
        let span = self.jitter.as_nanos();
        let extra = u128::from(*rng) % (span + 1);
        let extra = Duration::from_nanos(extra as u64);
        d.saturating_add(extra).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn constant_grows_linearly_from_n_one() {
        let b = Backoff::constant(ms(10), ms(50));
        assert_eq!(
            [b.delay(1), b.delay(2), b.delay(3)],
            [ms(60), ms(110), ms(160)]
        );
    }

    #[test]
    fn exponential_uses_base_or_step_and_doubles() {
        let b = Backoff::exponential(ms(20), ms(5));
        assert_eq!(
            [b.delay(1), b.delay(2), b.delay(3)],
            [ms(40), ms(80), ms(160)]
        );
        let s = Backoff::exponential(ms(0), ms(5));
        assert_eq!([s.delay(1), s.delay(2)], [ms(10), ms(20)]);
    }

    #[test]
    fn max_caps_and_huge_n_saturates() {
        let b = Backoff::exponential(ms(20), ms(0)).max_delay(ms(300));
        assert_eq!(b.delay(4), ms(300));
        assert_eq!(b.delay(1_000), ms(300));
    }

    #[test]
    fn jitter_stays_within_its_span() {
        let b = Backoff::constant(ms(100), ms(0)).jitter(ms(10));
        let mut rng = 0x9E37_79B9_7F4A_7C15;
        let mut seen_extra = false;
        for _ in 0..1_000 {
            let d = b.delay_jittered(1, &mut rng);
            assert!(d >= ms(100) && d <= ms(110), "{d:?}");
            seen_extra |= d > ms(100);
        }
        assert!(seen_extra);
    }

    #[test]
    fn extreme_durations_and_counts_saturate() {
        let max = Duration::MAX;
        let mut rng = 0x9E37_79B9_7F4A_7C15;
        let kinds = [
            Backoff::none(),
            Backoff::constant(max, max),
            Backoff::exponential(max, max),
            Backoff::exponential(Duration::ZERO, max),
        ];
        for b in kinds {
            let b = b.max_delay(max).jitter(max).reset_after(max);
            for n in [0, 1, 2, 31, 32, 33, u32::MAX] {
                let d = b.delay(n);
                let j = b.delay_jittered(n, &mut rng);
                assert!(j >= d, "{b:?} n={n}: {j:?} < {d:?}");
            }
        }
        // Jitter of exactly 2^64 - 1 ns (the old `span + 1` overflowed).
        let b = Backoff::constant(ms(1), ms(0)).jitter(Duration::from_nanos(u64::MAX));
        assert!(b.delay_jittered(1, &mut rng) <= b.max);
        let b = Backoff::constant(max, max).max_delay(max);
        assert_eq!(b.delay(u32::MAX), max);
        assert_eq!(b.delay_jittered(u32::MAX, &mut rng), max);
    }
}
