//! Request/reply (R31): [`ReplyTo`], the one-shot handle a request
//! carries, and [`Answer`], the one outcome its asker gets.
//!
//! An actor asks with [`Context::ask`](crate::Context::ask) (or
//! [`Core::ask`](crate::Core::ask)): it builds the request around a
//! `ReplyTo<R>`, names a timeout, and says how an [`Answer<R>`] becomes one
//! of its own messages. Exactly one answer reaches it, in its mailbox's
//! reserved lane (never refused for room): the reply, [`Answer::Timeout`],
//! or [`Answer::NoSuchActor`] / [`Answer::Dropped`] when the receiver ended
//! or dropped the handle without replying. A reply after the timeout is
//! discarded. From a thread outside the loop,
//! [`LoopHandle::ask`](crate::LoopHandle::ask) blocks for the answer.

use crate::core::pending::{receiver_ended, AskId, LoopKey, Outcome};
use crate::core::Core;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The outcome of an ask: exactly one per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer<R> {
    /// The receiver replied.
    Reply(R),
    /// No reply within the timeout; a later one is discarded.
    Timeout,
    /// The receiver was not alive, or ended with the request unhandled.
    NoSuchActor,
    /// The receiver dropped the [`ReplyTo`] without replying.
    Dropped,
}

impl<R> Answer<R> {
    /// The reply, if there was one.
    pub fn reply(self) -> Option<R> {
        match self {
            Answer::Reply(r) => Some(r),
            _ => None,
        }
    }
}

/// The one-shot handle of a request: its receiver answers with
/// [`ReplyTo::reply`]. Dropping it unanswered tells the asker
/// ([`Answer::Dropped`], or [`Answer::NoSuchActor`] when it is dropped
/// because the receiver ended). `Send` when `R` is, so a request may be
/// handed on, even to another thread (which may drop it); a reply to an
/// actor's ask is made on the asker's loop (made elsewhere, it counts as a
/// drop).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Answer, Context, Flow, Loop, ReplyTo};
/// use std::time::Duration;
///
/// /// Doubles numbers.
/// struct Doubler;
/// impl Actor for Doubler {
///     type Msg = (u32, ReplyTo<u32>);
///     fn handle(&mut self, cx: &mut Context<'_, Self>, (n, reply): Self::Msg) -> Flow {
///         reply.reply(cx, 2 * n);
///         Flow::Continue
///     }
/// }
///
/// /// Asks once, checks the answer, stops both.
/// struct Client(jzx::Addr<(u32, ReplyTo<u32>)>);
/// enum ClientMsg { Go, Got(Answer<u32>) }
/// impl Actor for Client {
///     type Msg = ClientMsg;
///     fn handle(&mut self, cx: &mut Context<'_, Self>, msg: ClientMsg) -> Flow {
///         match msg {
///             ClientMsg::Go => {
///                 cx.ask(self.0, Duration::from_secs(1), |r| (21, r), ClientMsg::Got)
///                     .map_err(|e| e.error)
///                     .unwrap();
///                 Flow::Continue
///             }
///             ClientMsg::Got(answer) => {
///                 assert_eq!(answer, Answer::Reply(42));
///                 cx.stop_actor(self.0.id()).unwrap();
///                 Flow::Stop
///             }
///         }
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let doubler = lp.spawn(Doubler)?;
/// let client = lp.spawn(Client(doubler))?;
/// lp.send(client, ClientMsg::Go)?;
/// lp.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReplyTo<R> {
    to: Dest<R>,
}

enum Dest<R> {
    /// An actor's ask, waiting in its loop.
    Ask { id: AskId, lp: LoopKey },
    /// A thread blocked in `LoopHandle::ask`.
    Thread(Arc<Waiting<R>>),
    /// Answered.
    Done,
}

impl<R: 'static> ReplyTo<R> {
    #[inline]
    pub(crate) fn for_ask(id: AskId, lp: LoopKey) -> ReplyTo<R> {
        ReplyTo {
            to: Dest::Ask { id, lp },
        }
    }

    /// A handle that answers nothing (the ask was refused before it began).
    pub(crate) fn answered() -> ReplyTo<R> {
        ReplyTo { to: Dest::Done }
    }

    pub(crate) fn for_thread(to: Arc<Waiting<R>>) -> ReplyTo<R> {
        ReplyTo {
            to: Dest::Thread(to),
        }
    }

    /// Answers the request with `value`. Returns whether the asker takes
    /// it: false when the ask timed out (or its asker ended) first, and the
    /// reply is discarded. On another loop of the asker's
    /// [`Runtime`](crate::Runtime), the reply crosses to the asker's loop
    /// (in order with what this loop sent there before) and is taken or
    /// discarded there: the call returns true once it is sent. On a loop of
    /// no common runtime the reply is discarded and the asker gets
    /// [`Answer::Dropped`].
    pub fn reply(mut self, core: &mut Core, value: R) -> bool {
        match std::mem::replace(&mut self.to, Dest::Done) {
            Dest::Ask { id, lp } if core.loop_key() == lp => {
                // Passed by reference: the asker takes it out; left here
                // (and dropped) when the ask was answered already.
                let mut value = Some(value);
                core.resolve_ask(id, Outcome::Reply, Some(&mut value))
            }
            Dest::Ask { id, lp } => match core.reply_across(id, lp, value) {
                Ok(()) => true,
                Err(_) => {
                    lp.push_dropped(id, false);
                    false
                }
            },
            Dest::Thread(to) => to.answer(Answer::Reply(value)),
            Dest::Done => false,
        }
    }
}

impl<R> Drop for ReplyTo<R> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.to, Dest::Done) {
            Dest::Ask { id, lp } => lp.push_dropped(id, receiver_ended()),
            Dest::Thread(to) => {
                to.answer(if receiver_ended() {
                    Answer::NoSuchActor
                } else {
                    Answer::Dropped
                });
            }
            Dest::Done => {}
        }
    }
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            Dest::Ask { id, .. } => write!(f, "ReplyTo(ask {})", id.number()),
            Dest::Thread(_) => f.write_str("ReplyTo(thread)"),
            Dest::Done => f.write_str("ReplyTo(answered)"),
        }
    }
}

/// Where a thread blocked in `LoopHandle::ask` waits for its answer: the
/// first of the answer and the asker's timeout wins, under one lock, so a
/// reply reported as taken always reaches the asker.
pub(crate) struct Waiting<R> {
    state: Mutex<State<R>>,
    ready: Condvar,
}

enum State<R> {
    Waiting,
    Answered(Answer<R>),
    /// The asker timed out.
    Gone,
}

impl<R> Waiting<R> {
    pub(crate) fn new() -> Arc<Waiting<R>> {
        Arc::new(Waiting {
            state: Mutex::new(State::Waiting),
            ready: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives the asker `answer`; false when it timed out first.
    fn answer(&self, answer: Answer<R>) -> bool {
        let mut state = self.lock();
        if !matches!(*state, State::Waiting) {
            return false;
        }
        *state = State::Answered(answer);
        self.ready.notify_one();
        true
    }

    /// Blocks for the answer, at most `timeout` (`Duration::MAX`: no limit).
    pub(crate) fn wait(&self, timeout: Duration) -> Answer<R> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if let State::Answered(_) = *state {
                return match std::mem::replace(&mut *state, State::Gone) {
                    State::Answered(answer) => answer,
                    _ => Answer::Timeout,
                };
            }
            let left = match deadline {
                None => Duration::MAX,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => {
                        *state = State::Gone;
                        return Answer::Timeout;
                    }
                },
            };
            state = match deadline {
                None => self.ready.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(_) => match self.ready.wait_timeout(state, left) {
                    Ok((state, _)) => state,
                    Err(p) => p.into_inner().0,
                },
            };
        }
    }
}
