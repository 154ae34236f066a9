//! A value alone on its cache line(s).
//!
//! Counters that one loop writes and another reads (a ring's positions, a
//! pair's message counts, a loop's published load, its shared slot count)
//! are each kept on lines of their own: two such counters on one line make
//! every write by one side evict the line the other side is using (false
//! sharing), which on a hot path costs a cross-core transfer per write.

use std::ops::Deref;

/// `T` aligned (and so padded) to 128 bytes: two 64-byte lines, as an
/// adjacent-line prefetcher moves lines in pairs.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> Deref for Padded<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}
