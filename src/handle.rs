//! [`LoopHandle`]: sending into a loop from other threads (R14).
//!
//! Producers push messages into one mutex-protected queue of typed runs
//! (consecutive messages of one type share a run); the loop drains it at the
//! start of every turn, so delivery is FIFO per producer. Runs the loop has
//! emptied go back to the queue as spares for the producers' next runs, so a
//! steady producer allocates nothing, per message or per drain (a run that
//! grew large, or one pushed out by newer spares, is freed by the loop). A
//! producer wakes the loop only when the loop has said it is about to block
//! (`sleeping`), and the loop re-checks the queue after saying so: with
//! sequentially consistent atomics on both sides, either the loop sees the
//! message or the producer sees the flag, so no wakeup is lost.

use crate::backend::xev::Waker;
use crate::core::Core;
use crate::{Addr, Error, SendError};
use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// A run of cross-thread messages of one type, in the order they were sent.
pub(crate) trait RemoteBatch: Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Messages the run can hold without growing.
    fn capacity(&self) -> usize;
    /// Delivers the messages in order on the loop's thread; false when a
    /// full mailbox refused one (it stays first, for a later try).
    fn deliver(&mut self, core: &mut Core) -> bool;
}

pub(crate) type RemoteMsg = Box<dyn RemoteBatch>;

struct Batch<M>(VecDeque<(Addr<M>, M)>);

impl<M: Send + 'static> RemoteBatch for Batch<M> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }

    fn deliver(&mut self, core: &mut Core) -> bool {
        while let Some((to, msg)) = self.0.pop_front() {
            let mut slot = Some(msg);
            if !core.deliver_remote(to, &mut slot) {
                if let Some(msg) = slot {
                    self.0.push_front((to, msg));
                }
                return false;
            }
        }
        true
    }
}

pub(crate) struct Remote {
    queue: Mutex<RemoteQueue>,
    pending: AtomicUsize,
    sleeping: AtomicBool,
    stop: AtomicBool,
    waker: Waker,
}

struct RemoteQueue {
    msgs: Vec<RemoteMsg>,
    /// Emptied runs handed back by the loop, reused by `post`.
    spare: Vec<RemoteMsg>,
    closed: bool,
}

/// Emptied runs kept for reuse at most (one per message type in flight is
/// what a steady producer needs); the newest are kept.
const MAX_SPARE: usize = 8;

/// Runs that grew beyond this many messages are not kept.
pub(crate) const MAX_SPARE_CAPACITY: usize = 4096;

impl Remote {
    pub(crate) fn new(waker: Waker) -> Arc<Remote> {
        Arc::new(Remote {
            queue: Mutex::new(RemoteQueue {
                msgs: Vec::new(),
                spare: Vec::new(),
                closed: false,
            }),
            pending: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            waker,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RemoteQueue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `msg` for `to`; gives it back when the loop is gone (checked
    /// under the same lock as `close`, so nothing slips past).
    pub(crate) fn post<M: Send + 'static>(&self, to: Addr<M>, msg: M) -> Result<(), M> {
        {
            let mut q = self.lock();
            if q.closed {
                return Err(msg);
            }
            match q
                .msgs
                .last_mut()
                .and_then(|b| b.as_any_mut().downcast_mut::<Batch<M>>())
            {
                Some(batch) => batch.0.push_back((to, msg)),
                None => {
                    let spare = q
                        .spare
                        .iter_mut()
                        .rposition(|b| b.as_any_mut().is::<Batch<M>>())
                        .map(|i| q.spare.swap_remove(i));
                    let mut run = spare.unwrap_or_else(|| Box::new(Batch::<M>(VecDeque::new())));
                    if let Some(batch) = run.as_any_mut().downcast_mut::<Batch<M>>() {
                        batch.0.push_back((to, msg));
                    }
                    q.msgs.push(run);
                }
            }
            self.pending.fetch_add(1, SeqCst);
        }
        if self.sleeping.load(SeqCst) {
            let _ = self.waker.wake();
        }
        Ok(())
    }

    /// Moves every queued message into `into` (in order), and hands the
    /// emptied runs of `spent` back for reuse.
    pub(crate) fn drain(&self, into: &mut Vec<RemoteMsg>, spent: &mut Vec<RemoteMsg>) {
        if self.pending.load(SeqCst) == 0 {
            return;
        }
        let mut q = self.lock();
        self.pending.store(0, SeqCst);
        std::mem::swap(&mut q.msgs, into);
        q.spare.append(spent);
        let excess = q.spare.len().saturating_sub(MAX_SPARE);
        spent.extend(q.spare.drain(..excess));
        drop(q);
        spent.clear();
    }

    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(SeqCst) != 0
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, SeqCst);
        let _ = self.waker.wake();
    }

    /// Consumes a stop request.
    pub(crate) fn take_stop(&self) -> bool {
        self.stop.swap(false, SeqCst)
    }

    /// Says the loop is about to block; false when it must not (work arrived
    /// or a stop was requested), in which case the flag is already cleared.
    pub(crate) fn enter_sleep(&self) -> bool {
        self.sleeping.store(true, SeqCst);
        if self.pending.load(SeqCst) != 0 || self.stop.load(SeqCst) {
            self.sleeping.store(false, SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn leave_sleep(&self) {
        self.sleeping.store(false, SeqCst);
    }

    /// Refuses further messages and returns the ones still queued.
    pub(crate) fn close(&self) -> Vec<RemoteMsg> {
        let mut q = self.lock();
        q.closed = true;
        self.pending.store(0, SeqCst);
        q.spare.clear();
        std::mem::take(&mut q.msgs)
    }
}

/// Sends into a loop from any thread. `Clone`, `Send` and `Sync`.
///
/// Delivery is FIFO per producer and wakes a blocked loop at once. A message
/// whose target is dead when it arrives is dropped (its destructor runs). A
/// message whose target's mailbox is full is held, with every cross-thread
/// message behind it, until the target has made room: the mailbox bound is
/// kept and nothing is lost, at the cost of head-of-line waiting (the
/// observer hears of the full mailbox once). Once the loop is dropped, sends
/// fail with [`Error::LoopClosed`] and hand the message back.
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
    remote: Arc<Remote>,
}

impl LoopHandle {
    pub(crate) fn new(remote: Arc<Remote>) -> Self {
        LoopHandle { remote }
    }

    /// Queues `msg` for `to`.
    ///
    /// # Errors
    ///
    /// `LoopClosed` (with the message) when the loop is gone.
    pub fn send<M: Send + 'static>(&self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        self.remote.post(to, msg).map_err(|message| SendError {
            error: Error::LoopClosed,
            message,
        })
    }

    /// Asks the loop to stop after its current turn; from any thread. If the
    /// loop is not running, its next `run` returns at once (R3).
    pub fn request_stop(&self) {
        self.remote.request_stop();
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoopHandle")
    }
}
