//! The `tracing` feature (SPEC §10): the events and spans a known program
//! emits, captured by a small subscriber. Built only with the feature
//! (`cargo test --features tracing`; scripts/test.sh runs it).
#![cfg(feature = "tracing")]
mod util;

use jzx::{Actor, ChildSpec, Context, Error, Flow, SpawnOptions, Strategy, SupervisorSpec};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use util::{backends, new_loop, run_within, ChildDriver};

/// One captured event: its level, fields (the message under "message") and
/// the name of the span it happened in.
#[derive(Debug)]
struct Captured {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
    span: Option<String>,
}

impl Captured {
    fn message(&self) -> &str {
        self.fields.get("message").map_or("", String::as_str)
    }
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct State {
    /// Span names by id (ids are the index + 1).
    spans: Vec<(String, BTreeMap<String, String>)>,
    /// The spans entered now, innermost last.
    stack: Vec<u64>,
    events: Vec<Captured>,
}

/// A subscriber that keeps everything in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<State>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut state = self.0.lock().unwrap();
        state
            .spans
            .push((attrs.metadata().name().to_string(), fields));
        Id::from_u64(state.spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let mut state = self.0.lock().unwrap();
        let span = state
            .stack
            .last()
            .map(|&id| state.spans[id as usize - 1].0.clone());
        state.events.push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields,
            span,
        });
    }
    fn enter(&self, id: &Id) {
        self.0.lock().unwrap().stack.push(id.into_u64());
    }
    fn exit(&self, id: &Id) {
        let mut state = self.0.lock().unwrap();
        assert_eq!(
            state.stack.pop(),
            Some(id.into_u64()),
            "spans exit in order"
        );
    }
}

/// Fails at every message.
struct Failing;

impl Actor for Failing {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Fail
    }
}

// A refused send, then a supervisor (intensity 1) whose child fails twice:
// one restart, then an escalation that stops the supervisor.
#[test]
fn lifecycle_refusals_and_turns_are_traced() {
    for backend in backends() {
        let capture = Capture::default();
        tracing::subscriber::with_default(capture.clone(), || {
            let mut lp = new_loop(backend);
            let full = lp
                .spawn_with(Failing, SpawnOptions::new().mailbox_cap(1).name("full"))
                .unwrap();
            lp.send(full, ()).unwrap();
            assert_eq!(lp.send(full, ()).unwrap_err().error, Error::MailboxFull);
            lp.stop_actor(full.id()).unwrap();

            let sup = lp
                .spawn_supervisor(
                    SupervisorSpec::new(Strategy::OneForOne).intensity(1, Duration::from_secs(60)),
                    vec![ChildSpec::new(|| Failing)],
                )
                .unwrap();
            let child = lp.child_ref::<()>(sup, 0).unwrap();
            let driver = lp.spawn(ChildDriver::new(child, Duration::ZERO)).unwrap();
            lp.send(driver, ()).unwrap();
            run_within(&mut lp, Duration::from_secs(20));
            assert_eq!(lp.actor_count(), 0, "{backend}");
        });

        let state = capture.0.lock().unwrap();
        let events = &state.events;
        assert!(
            events.iter().all(|e| e.target == "jzx"),
            "{backend}: {events:#?}"
        );
        let named = |message: &str| -> Vec<&Captured> {
            events.iter().filter(|e| e.message() == message).collect()
        };

        // `full`, the supervisor, its first child, the driver, the restarted child.
        let started = named("actor started");
        assert_eq!(started.len(), 5, "{backend}: {started:#?}");
        assert_eq!(started[0].field("name"), "full", "{backend}");
        assert!(started.iter().all(|e| e.level == Level::DEBUG));

        let refused = named("mailbox full");
        assert_eq!(refused.len(), 1, "{backend}");
        assert_eq!(refused[0].field("actor"), started[0].field("actor"));

        let restarted = named("actor restarted");
        assert_eq!(restarted.len(), 1, "{backend}: {restarted:#?}");
        assert_eq!(restarted[0].level, Level::INFO);
        assert_eq!(restarted[0].field("attempt"), "1");
        assert_eq!(restarted[0].field("supervisor"), started[1].field("actor"));
        assert_eq!(restarted[0].field("child"), started[4].field("actor"));
        assert_eq!(restarted[0].span.as_deref(), Some("turn"), "{backend}");

        let escalated = named("supervisor escalated");
        assert_eq!(escalated.len(), 1, "{backend}");
        assert_eq!(escalated[0].level, Level::WARN);
        assert_eq!(escalated[0].field("supervisor"), started[1].field("actor"));

        // Who stopped why: `full` by request, both children failing, the
        // supervisor giving up, the driver once it is gone.
        let mut stopped: Vec<(&str, &str)> = named("actor stopped")
            .iter()
            .map(|e| (e.field("actor"), e.field("reason")))
            .collect();
        stopped.sort();
        let mut want = vec![
            (started[0].field("actor"), "Normal"),
            (started[2].field("actor"), "Fail"),
            (started[4].field("actor"), "Fail"),
            (started[1].field("actor"), "Fail"),
            (started[3].field("actor"), "Normal"),
        ];
        want.sort();
        assert_eq!(stopped, want, "{backend}");

        // Turns are spans numbered from 1.
        let turns: Vec<&str> = state
            .spans
            .iter()
            .filter(|(name, _)| name == "turn")
            .map(|(_, fields)| fields.get("turn").map_or("", String::as_str))
            .collect();
        assert!(turns.len() >= 3, "{backend}: {turns:?}");
        assert_eq!(turns[..3], ["1", "2", "3"], "{backend}");
        assert!(state.stack.is_empty(), "{backend}: every span was exited");
    }
}
