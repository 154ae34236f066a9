//! An actor whose behavior is a closure, for tests that need many small
//! actors without a type each.

use super::Log;
use jzx::{Actor, Context, Flow};

/// The behavior of an [`FnActor`]: `Send`, so that it can be spawned on any
/// loop of a runtime.
pub type Behavior<M> = Box<dyn FnMut(&mut Context<'_, FnActor<M>>, M) -> Flow + Send>;

/// An actor whose behavior is a closure.
pub struct FnActor<M: 'static>(pub Behavior<M>);

impl<M: 'static> Actor for FnActor<M> {
    type Msg = M;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: M) -> Flow {
        (self.0)(cx, msg)
    }
}

/// An actor running `f` on each message.
pub fn actor<M: 'static>(
    f: impl FnMut(&mut Context<'_, FnActor<M>>, M) -> Flow + Send + 'static,
) -> FnActor<M> {
    FnActor(Box::new(f))
}

/// Logs every message; stops after `n` of them.
pub fn collector<M: Clone + Send + 'static>(log: &Log<M>, n: usize) -> FnActor<M> {
    let log = log.clone();
    actor(move |_cx, m: M| {
        log.push(m);
        if log.len() >= n {
            Flow::Stop
        } else {
            Flow::Continue
        }
    })
}
