//! Actor and timer ids: a 32-bit generation over an 8-bit loop index and a
//! 24-bit slot index (R6, R26).

use std::fmt;

/// Identifies an actor: which loop it lives on, and where in that loop's
/// actor table. 8 bytes, `Copy`.
///
/// The high 32 bits are a generation; below them, 8 bits say which loop the
/// actor lives on (0 for a lone [`Loop`](crate::Loop), so its ids are the
/// same numbers as before loops had an index; `i + 1` for loop `i` of a
/// [`Runtime`](crate::Runtime), so that no id of a lone loop is ever taken
/// for one of a runtime's loops) and the low 24 bits are a slot of that
/// loop's actor table
/// (so a loop holds at most 2^24 actors at once). When an actor dies its
/// slot is reused (most recently freed first) with the generation plus one,
/// so a stale id never reaches the new occupant: calls with it fail with
/// [`Error::NoSuchActor`](crate::Error), on its own loop as from any other.
/// The first actor of a loop gets slot 0, generation 1; the raw value 0
/// means "no actor".
///
/// # Examples
///
/// ```
/// use jzx::ActorId;
/// // Slot 7 of loop 2 of a runtime (loop byte 3), generation 1.
/// let id = ActorId::from_raw((1 << 32) | (3 << 24) | 7).unwrap();
/// assert_eq!((id.loop_index(), id.slot(), id.generation()), (2, 7, 1));
/// assert!(ActorId::from_raw(0).is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(u64);

/// Bits of an [`ActorId`] that hold its slot.
pub(crate) const SLOT_BITS: u32 = 24;

/// The most actors a loop's table can hold (slots are 24 bits).
pub(crate) const MAX_SLOTS: u32 = 1 << SLOT_BITS;

/// The most loops a runtime can have (loop bytes 1 to 255; 0 is a lone
/// loop's).
pub(crate) const MAX_LOOPS: usize = (1 << (32 - SLOT_BITS)) - 1;

impl ActorId {
    /// The id of `slot` of loop `index` at `generation`; `index` is below
    /// [`MAX_LOOPS`] and `slot` below [`MAX_SLOTS`].
    #[inline]
    pub(crate) fn new(index: u8, slot: u32, generation: u32) -> ActorId {
        debug_assert!(slot < MAX_SLOTS);
        ActorId((u64::from(generation) << 32) | (u64::from(index) << SLOT_BITS) | u64::from(slot))
    }

    /// An id from its raw 64-bit value (as the C ABI passes it); `None` for 0.
    #[inline]
    pub fn from_raw(raw: u64) -> Option<ActorId> {
        (raw >> 32 != 0).then_some(ActorId(raw))
    }

    /// The raw 64-bit value.
    #[inline]
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// The slot index in its loop's actor table.
    #[inline]
    pub fn slot(self) -> u32 {
        self.0 as u32 & (MAX_SLOTS - 1)
    }

    /// The index of the loop the actor lives on: its place in a
    /// [`Runtime`](crate::Runtime), 0 for a lone [`Loop`](crate::Loop).
    #[inline]
    pub fn loop_index(self) -> usize {
        usize::from(self.loop_byte().saturating_sub(1))
    }

    /// Where a loop of a runtime sends for this id: the index of its loop
    /// in the runtime, or `usize::MAX` (no loop) for a lone loop's id.
    #[inline]
    pub(crate) fn route(self) -> usize {
        match self.loop_byte() {
            0 => usize::MAX,
            b => usize::from(b) - 1,
        }
    }

    #[inline]
    pub(crate) fn loop_byte(self) -> u8 {
        (self.0 >> SLOT_BITS) as u8
    }

    /// The generation of the slot this id was issued for.
    #[inline]
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loop_byte() {
            0 => write!(f, "ActorId({}v{})", self.slot(), self.generation()),
            _ => write!(
                f,
                "ActorId({}:{}v{})",
                self.loop_index(),
                self.slot(),
                self.generation()
            ),
        }
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loop_byte() {
            0 => write!(f, "<{}.{}>", self.slot(), self.generation()),
            _ => write!(
                f,
                "<{}.{}.{}>",
                self.loop_index(),
                self.slot(),
                self.generation()
            ),
        }
    }
}

/// Identifies a pending timer of one loop. 8 bytes, `Copy`; generation over
/// slot like [`ActorId`], so a fired or cancelled timer's id stays invalid
/// even after its slot is reused.
///
/// # Examples
///
/// ```
/// use jzx::TimerId;
/// assert!(TimerId::from_raw(0).is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(u64);

impl TimerId {
    pub(crate) fn new(slot: u32, generation: u32) -> TimerId {
        TimerId((u64::from(generation) << 32) | u64::from(slot))
    }

    /// A timer id from its raw value (as the C ABI passes it); `None` for 0.
    pub fn from_raw(raw: u64) -> Option<TimerId> {
        (raw >> 32 != 0).then_some(TimerId(raw))
    }

    /// The raw 64-bit value.
    #[inline]
    pub fn to_raw(self) -> u64 {
        self.0
    }

    #[inline]
    pub(crate) fn slot(self) -> u32 {
        self.0 as u32
    }

    #[inline]
    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Debug for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimerId({}v{})", self.slot(), self.generation())
    }
}

/// The generation after `g`, skipping 0 (which would make a 0 raw id).
pub(crate) fn next_generation(g: u32) -> u32 {
    match g.wrapping_add(1) {
        0 => 1,
        n => n,
    }
}
