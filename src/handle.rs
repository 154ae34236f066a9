//! [`LoopHandle`]: sending into a loop from other threads (R14); the queue
//! behind it is the loop's inbox (`core/inbox.rs`).

use crate::core::inbox::Remote;
use crate::core::Core;
use crate::reply::Waiting;
use crate::{Addr, Answer, ReplyTo, SendError};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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

    /// Consumes a stop request (the end of a runtime's run).
    pub(crate) fn take_stop(&self) -> bool {
        self.remote.take_stop()
    }

    /// The loop's inbox (for connecting the loops of a runtime).
    pub(crate) fn remote(&self) -> &Arc<Remote<Core>> {
        &self.remote
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

    /// Asks `target` from this thread and blocks for the answer, at most
    /// `timeout` (R31): `request` builds the request around a
    /// [`ReplyTo<R>`], which is sent like [`LoopHandle::send`]. The answer
    /// is the reply, [`Answer::Timeout`] (a later reply is discarded), or
    /// [`Answer::NoSuchActor`] / [`Answer::Dropped`] when the receiver ended
    /// or dropped the handle unanswered. Never call it from the thread that
    /// runs the loop: the loop could not run to answer.
    ///
    /// # Errors
    ///
    /// The request comes back when the send is refused, as for
    /// [`LoopHandle::send`]; no answer comes then.
    ///
    /// # Examples
    ///
    /// ```
    /// use jzx::{Actor, Answer, Context, Flow, Loop, ReplyTo};
    /// use std::time::Duration;
    ///
    /// struct Counter(u64);
    /// impl Actor for Counter {
    ///     type Msg = ReplyTo<u64>;
    ///     fn handle(&mut self, cx: &mut Context<'_, Self>, reply: ReplyTo<u64>) -> Flow {
    ///         self.0 += 1;
    ///         reply.reply(cx, self.0);
    ///         if self.0 == 2 { Flow::Stop } else { Flow::Continue }
    ///     }
    /// }
    ///
    /// let mut lp = Loop::new()?;
    /// let counter = lp.spawn(Counter(0))?;
    /// let handle = lp.handle();
    /// let asker = std::thread::spawn(move || {
    ///     let second = Duration::from_secs(5);
    ///     let a = handle.ask(counter, second, |reply| reply).ok().unwrap();
    ///     let b = handle.ask(counter, second, |reply| reply).ok().unwrap();
    ///     (a, b)
    /// });
    /// lp.run()?;
    /// assert_eq!(asker.join().unwrap(), (Answer::Reply(1), Answer::Reply(2)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ask<Req: Send + 'static, R: Send + 'static>(
        &self,
        target: Addr<Req>,
        timeout: Duration,
        request: impl FnOnce(ReplyTo<R>) -> Req,
    ) -> Result<Answer<R>, SendError<Req>> {
        let waiting = Waiting::new();
        self.remote
            .post(target, request(ReplyTo::for_thread(waiting.clone())))?;
        Ok(waiting.wait(timeout))
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
