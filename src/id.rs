//! Actor and timer ids: a 32-bit generation over a 32-bit slot index (R6).

use std::fmt;

/// Identifies an actor of one loop. 8 bytes, `Copy`.
///
/// The high 32 bits are a generation, the low 32 bits a slot of the loop's
/// actor table. When an actor dies its slot is reused (most recently freed
/// first) with the generation plus one, so a stale id never reaches the new
/// occupant: calls with it fail with [`Error::NoSuchActor`](crate::Error).
/// The first actor of a loop gets slot 0, generation 1; the raw value 0 means
/// "no actor".
///
/// # Examples
///
/// ```
/// use jzx::ActorId;
/// let id = ActorId::from_raw((1 << 32) | 7).unwrap();
/// assert_eq!((id.slot(), id.generation()), (7, 1));
/// assert!(ActorId::from_raw(0).is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(u64);

impl ActorId {
    #[inline]
    pub(crate) fn new(slot: u32, generation: u32) -> ActorId {
        ActorId((u64::from(generation) << 32) | u64::from(slot))
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

    /// The slot index in the loop's actor table.
    #[inline]
    pub fn slot(self) -> u32 {
        self.0 as u32
    }

    /// The generation of the slot this id was issued for.
    #[inline]
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActorId({}v{})", self.slot(), self.generation())
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}>", self.slot(), self.generation())
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
