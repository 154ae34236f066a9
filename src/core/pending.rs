//! Asks waiting for their outcome, and the reply handles dropped
//! unanswered (the policy is in `ask.rs`).

use crate::backend::xev::Waker;
use crate::{ActorId, TimerId};
use std::any::Any;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// An ask's outcome before it is typed again for its asker.
pub(crate) enum RawAnswer {
    Reply(Box<dyn Any>),
    Timeout,
    NoSuchActor,
    Dropped,
}

/// Hands an ask's outcome, typed, to its asker.
pub(crate) type Deliver<C> = Box<dyn FnOnce(&mut C, RawAnswer)>;

/// An ask waiting for its outcome, for a loop whose state is `C`.
pub(crate) struct PendingAsk<C> {
    pub(crate) asker: ActorId,
    /// Its timeout, cancelled when another outcome comes first.
    pub(crate) timer: Option<TimerId>,
    pub(crate) deliver: Deliver<C>,
}

/// Reply handles dropped unanswered, by ask number, with whether their
/// receiver had ended; filled by the handles' `Drop` (on whatever thread
/// drops them, which wakes the loop), emptied by the loop after each turn.
pub(crate) struct DroppedReplies {
    ids: Mutex<Vec<(u64, bool)>>,
    any: AtomicBool,
    waker: Waker,
}

impl DroppedReplies {
    pub(crate) fn new(waker: Waker) -> DroppedReplies {
        DroppedReplies {
            ids: Mutex::default(),
            any: AtomicBool::new(false),
            waker,
        }
    }

    pub(crate) fn push(&self, id: u64, receiver_ended: bool) {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.push((id, receiver_ended));
        self.any.store(true, Ordering::Release);
        drop(ids);
        // A handle dropped on another thread while the loop sleeps: the
        // loop must look (a spare wake on its own thread costs one turn).
        let _ = self.waker.wake();
    }

    /// Whether a handle was dropped since the last `take`.
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    pub(crate) fn take(&self) -> Vec<(u64, bool)> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        self.any.store(false, Ordering::Release);
        std::mem::take(&mut *ids)
    }
}

thread_local! {
    /// The loop on this thread is dropping the messages of an actor that
    /// ended (dead letters): a reply handle dropped now was never seen by
    /// its receiver.
    static RECEIVER_ENDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `drop` (dropping an ended actor's messages) with
/// [`receiver_ended`] true.
#[inline]
pub(crate) fn dropping_dead_letters<T>(drop: impl FnOnce() -> T) -> T {
    let outer = RECEIVER_ENDED.with(|r| r.replace(true));
    let out = drop();
    RECEIVER_ENDED.with(|r| r.set(outer));
    out
}

/// Whether a message dropped now is dropped because its receiver ended.
pub(crate) fn receiver_ended() -> bool {
    RECEIVER_ENDED.with(Cell::get)
}
