//! [`LoopHandle`]: sending into a loop from other threads (R14); the queue
//! behind it is the loop's inbox (`core/inbox.rs`).

use crate::core::inbox::Remote;
use crate::core::Core;
use crate::{Addr, SendError};
use std::fmt;
use std::sync::Arc;

/// Sends into a loop from any thread. `Clone`, `Send` and `Sync`.
///
/// Delivery is FIFO per producer (for each target) and wakes a blocked loop
/// at once. A message whose target is dead when it arrives is dropped (its
/// destructor runs). A message whose target's mailbox is full waits, with
/// the later ones for that target, until the target's turn has made room;
/// messages for other actors go on meanwhile (the observer hears of each
/// target that refuses, once while its messages wait).
///
/// The path is bounded by [`Config::cross_thread_cap`](crate::Config):
/// once that many messages are queued or waiting, a send is refused with
/// [`Error::MailboxFull`](crate::Error::MailboxFull) and hands the message back, so a producer that
/// never stops cannot grow the loop's memory (retry later, or drop). A
/// target whose waiting messages reach its share of that bound (its mailbox
/// capacity, or a quarter of the bound if more) takes only what it makes
/// room for until it has caught up; sends to it beyond that are refused the
/// same way, so that it cannot take the bound from other actors. Once
/// the loop is dropped, sends fail with [`Error::LoopClosed`](crate::Error::LoopClosed) and hand the
/// message back.
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Sink;
/// impl Actor for Sink {
///     type Msg = u64;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u64) -> Flow {
///         if n == 99 { Flow::Stop } else { Flow::Continue }
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let sink = lp.spawn(Sink)?;
/// let handle = lp.handle();
/// let producer = std::thread::spawn(move || {
///     for n in 0..100 {
///         handle.send(sink, n).unwrap();
///     }
/// });
/// lp.run()?; // until the sink stops
/// producer.join().unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    remote: Arc<Remote<Core>>,
}

impl LoopHandle {
    pub(crate) fn new(remote: Arc<Remote<Core>>) -> Self {
        LoopHandle { remote }
    }

    /// Queues `msg` for `to`. Never blocks.
    ///
    /// # Errors
    ///
    /// The message comes back in the error: `LoopClosed` when the loop is
    /// gone, `MailboxFull` when `cross_thread_cap` messages are already
    /// queued or waiting for room, or when `to` already has its share of
    /// them waiting (R14).
    pub fn send<M: Send + 'static>(&self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        self.remote.post(to, msg)
    }

    /// Asks the loop to stop after its current turn; from any thread. If the
    /// loop is not running, its next `run` returns at once. A request is used
    /// up by the run it ends, or by the run going on when it was made even if
    /// that run then ends idle (R3).
    pub fn request_stop(&self) {
        self.remote.request_stop();
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoopHandle")
    }
}
