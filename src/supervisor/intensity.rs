//! A supervisor's restart intensity: how many restarts fell within its
//! period (R22), counted in bounded memory.

use std::collections::VecDeque;

/// Most entries kept: beyond, the two oldest merge.
const MAX_ENTRIES: usize = 1024;

/// The restarts of one supervisor within its period.
///
/// Restarts in the same millisecond share an entry, and only the
/// `intensity + 1` most recent restarts are kept (the decision needs no
/// more). The count is exact while the window holds at most 1,024 distinct
/// milliseconds; past that (an intensity above 1,024 with restarts spread
/// over more milliseconds), the two oldest entries merge and count as of
/// the later one's time: they stay in the window a little longer, so the
/// supervisor may give up a little early, never late, and memory stays
/// bounded whatever the intensity and period (up to `u32::MAX` and
/// `Duration::MAX`).
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    /// (millisecond, restarts in it), oldest first.
    entries: VecDeque<(u64, u64)>,
    /// Sum of the entries' counts.
    total: u64,
}

impl RestartWindow {
    /// Records a restart at `now` (ms of the loop's clock); true when more
    /// than `intensity` restarts fall within the last `period` ms.
    pub(crate) fn record(&mut self, now: u64, intensity: u32, period: u64) -> bool {
        while let Some(&(t, n)) = self.entries.front() {
            if now.saturating_sub(t) < period {
                break;
            }
            self.entries.pop_front();
            self.total -= n;
        }
        match self.entries.back_mut() {
            Some((t, n)) if *t == now => *n += 1,
            _ => self.entries.push_back((now, 1)),
        }
        self.total += 1;
        let keep = u64::from(intensity) + 1;
        while self.total > keep {
            let excess = self.total - keep;
            let front = self.entries.front_mut().expect("total counts the entries");
            let cut = excess.min(front.1);
            front.1 -= cut;
            self.total -= cut;
            if front.1 == 0 {
                self.entries.pop_front();
            }
        }
        if self.entries.len() > MAX_ENTRIES {
            let (_, n) = self.entries.pop_front().expect("entries");
            self.entries.front_mut().expect("more than one entry").1 += n;
        }
        self.total > u64::from(intensity)
    }

    /// Entries held (for tests of the memory bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_restarts_within_the_period_exactly() {
        let mut w = RestartWindow::default();
        // Intensity 2 in 10 ms: the third restart within 10 ms exceeds it.
        assert!(!w.record(0, 2, 10));
        assert!(!w.record(5, 2, 10));
        assert!(!w.record(10, 2, 10), "the restart at 0 has left the window");
        assert!(w.record(12, 2, 10), "5, 10 and 12 are within 10 ms");
        // Several in the same millisecond count one by one.
        let mut w = RestartWindow::default();
        assert!(!w.record(3, 1, 10));
        assert!(w.record(3, 1, 10));
    }

    #[test]
    fn memory_is_bounded_with_the_largest_intensity_and_period() {
        // u32::MAX restarts within Duration::MAX: never exceeded, and the
        // entries never outgrow the bound however many restarts there are.
        let mut w = RestartWindow::default();
        for now in 0..100_000 {
            assert!(!w.record(now, u32::MAX, u64::MAX));
            assert!(w.len() <= MAX_ENTRIES, "{} entries at {now}", w.len());
        }
        assert_eq!(w.total, 100_000, "merged entries keep their counts");
        // A small intensity keeps at most intensity + 1 restarts.
        let mut w = RestartWindow::default();
        for now in 0..1_000 {
            w.record(now, 3, u64::MAX);
            assert!(w.total <= 4 && w.len() <= 4);
        }
    }
}
