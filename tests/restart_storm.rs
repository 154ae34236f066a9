//! A restart storm in a process of its own, so that its memory reading is not
//! disturbed by other tests running in parallel (R13, R24).
mod util;

use jzx::{Actor, ChildRef, ChildSpec, Context, Flow, SupervisorSpec};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use util::{backends, new_loop, run_within};

const LIMIT: Duration = Duration::from_secs(60);

/// Fails on every message.
struct Doomed;

impl Actor for Doomed {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Fail
    }
}

/// Sends one message to each new incarnation until `goal` were sent, then
/// asks the loop to stop.
struct Driver {
    child: ChildRef<()>,
    last: Option<jzx::ActorId>,
    sent: u32,
    goal: u32,
    handle: jzx::LoopHandle,
}

impl Actor for Driver {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let current = cx.supervisor_child(self.child.supervisor(), 0).unwrap();
        if current.is_some() && current != self.last {
            if self.sent == self.goal {
                // The last incarnation sent to has been replaced: all done.
                self.handle.request_stop();
                return Flow::Stop;
            }
            if cx.send_child(self.child, ()).is_ok() {
                self.sent += 1;
                self.last = current;
            }
        }
        let me = cx.addr();
        let _ = cx.send(me, ());
        Flow::Continue
    }
}

/// Counts restarts (and keeps nothing else: a recording observer's own
/// growth would hide the runtime's).
#[derive(Clone, Default)]
struct RestartCount(Rc<Cell<u32>>);

impl jzx::Observer for RestartCount {
    fn on_actor_restart(&mut self, _sup: jzx::ActorId, _child: jzx::ActorId, attempt: u32) {
        self.0.set(self.0.get() + 1);
        assert!(attempt > 0);
    }
}

fn storm(lp: &mut jzx::Loop, child: ChildRef<()>, goal: u32) {
    let handle = lp.handle();
    let d = lp
        .spawn(Driver {
            child,
            last: None,
            sent: 0,
            goal,
            handle,
        })
        .unwrap();
    lp.send(d, ()).unwrap();
    run_within(lp, LIMIT);
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ten_thousand_restarts_leave_no_leak() {
    let starts = Rc::new(Cell::new(0u32));
    // R13, R24
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = RestartCount::default();
        let s = starts.clone();
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default().intensity(1_000_000, Duration::from_secs(60)),
                vec![ChildSpec::new(move || {
                    s.set(s.get() + 1);
                    Doomed
                })],
            )
            .unwrap();
        let baseline_actors = lp.actor_count();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        // Warm up (allocator, tables), then measure.
        storm(&mut lp, child, 1_000);
        let rss_before = rss_kib();
        lp.set_observer(rec.clone());
        storm(&mut lp, child, 10_000);
        let restarts = rec.0.get();
        assert_eq!(restarts, 10_000, "{backend}");
        assert_eq!(lp.actor_count(), baseline_actors, "{backend}");
        assert_eq!(
            lp.supervisor_child(sup, 0)
                .unwrap()
                .map(|id| lp.is_alive(id)),
            Some(true)
        );
        if let (Some(before), Some(after)) = (rss_before, rss_kib()) {
            assert!(
                after < before + 1024,
                "{backend}: RSS {before} KiB -> {after} KiB"
            );
        }
    }
}
