//! A small supervision tree that survives failures.
//!
//! ```text
//! root (one_for_one, 5 restarts / 1 s)
//! ├── flaky   permanent worker: panics on every 4th job
//! └── pair    (one_for_all, exponential backoff from 10 ms)
//!     ├── left   transient worker: fails on job 6
//!     └── right  transient worker
//! ```
//!
//! A client sends 12 jobs to each worker through stable child handles, one
//! every 5 ms, never looking up new ids. An observer prints every restart.
//! The client then stops the root supervisor, which stops its subtree first,
//! and `run` returns. Run with `cargo run --example supervisor`.
use jzx::{
    Actor, ActorId, Backoff, ChildRef, ChildSpec, Context, Flow, Loop, Observer, RestartMode,
    StopReason, Strategy, SupervisorSpec,
};
use std::time::Duration;

/// A worker that does jobs and breaks on the job number it was given.
struct Worker {
    name: &'static str,
    breaks_on: u32,
    panics: bool,
}

impl Actor for Worker {
    type Msg = u32;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, job: u32) -> Flow {
        if job % self.breaks_on == 0 {
            if self.panics {
                panic!("{} broke on job {job}", self.name);
            }
            println!("  {} fails on job {job}", self.name);
            return Flow::Fail;
        }
        println!("  {} did job {job}", self.name);
        Flow::Continue
    }
}

/// Sends one job to each worker every 5 ms, then stops the tree.
struct Client {
    root: ActorId,
    workers: Vec<ChildRef<u32>>,
    job: u32,
}

impl Actor for Client {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        self.job += 1;
        if self.job > 12 {
            println!("client: done, stopping the tree");
            let _ = cx.stop_actor(self.root);
            return Flow::Stop;
        }
        for &w in &self.workers {
            if let Err(e) = cx.send_child(w, self.job) {
                // Between incarnations the handle refuses: the job is lost,
                // and the client knows it.
                println!(
                    "client: job {} refused by worker #{}: {}",
                    self.job,
                    w.index(),
                    e.error
                );
            }
        }
        let me = cx.addr();
        cx.send_after(me, Duration::from_millis(5), ())
            .expect("client is alive");
        Flow::Continue
    }
}

/// Prints what the supervisors do.
struct Printer;

impl Observer for Printer {
    fn on_actor_restart(&mut self, supervisor: ActorId, child: ActorId, attempt: u32) {
        println!("observer: {supervisor} restarted a child as {child} (attempt {attempt})");
    }
    fn on_supervisor_escalate(&mut self, supervisor: ActorId) {
        println!("observer: {supervisor} gave up");
    }
    fn on_actor_stop(&mut self, id: ActorId, reason: StopReason) {
        if reason != StopReason::Normal {
            println!("observer: {id} ended: {reason:?}");
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Panics are caught by the runtime; keep their messages short.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload().downcast_ref::<String>().map(String::as_str);
        println!("  panic: {}", msg.unwrap_or("?"));
    }));
    let mut lp = Loop::new()?;
    lp.set_observer(Printer);

    let pair = || {
        let worker = |name, breaks_on| {
            ChildSpec::new(move || Worker {
                name,
                breaks_on,
                panics: false,
            })
            .mode(RestartMode::Transient)
        };
        (
            SupervisorSpec::new(Strategy::OneForAll).backoff(Backoff::exponential(
                Duration::from_millis(10),
                Duration::ZERO,
            )),
            vec![worker("left", 6), worker("right", 1_000)],
        )
    };
    let root = lp.spawn_supervisor(
        SupervisorSpec::new(Strategy::OneForOne).intensity(5, Duration::from_secs(1)),
        vec![
            ChildSpec::new(|| Worker {
                name: "flaky",
                breaks_on: 4,
                panics: true,
            }),
            ChildSpec::supervisor(pair),
        ],
    )?;
    let pair_sup = lp.supervisor_child(root, 1)?.expect("pair started");
    let workers = vec![
        lp.child_ref::<u32>(root, 0)?,
        lp.child_ref::<u32>(pair_sup, 0)?,
        lp.child_ref::<u32>(pair_sup, 1)?,
    ];
    let client = lp.spawn(Client {
        root: root.id(),
        workers,
        job: 0,
    })?;
    lp.send(client, ())?;

    lp.run()?;
    println!("tree stopped; {} actors left", lp.actor_count());
    Ok(())
}
