//! Supervision functions: C children under the Rust supervisor.

use super::actor_api::name_of;
use super::jzx_loop;
use super::types::*;
use super::{actor_id, code, guard, put, with_core, CActor, CMsg};
use crate::{
    Backoff, BackoffKind, ChildSpec, Error, RestartMode, SpawnOptions, Strategy, SupervisorSpec,
};
use std::any::TypeId;
use std::ffi::c_int;
use std::time::Duration;

fn ms(n: u32) -> Duration {
    Duration::from_millis(u64::from(n))
}

fn backoff_kind(t: c_int) -> Option<BackoffKind> {
    match t {
        JZX_BACKOFF_NONE => Some(BackoffKind::None),
        JZX_BACKOFF_CONSTANT => Some(BackoffKind::Constant),
        JZX_BACKOFF_EXPONENTIAL => Some(BackoffKind::Exponential),
        _ => None,
    }
}

/// The Rust spec of a C supervisor (R22, R23): intensity or period 0 is
/// unlimited; the supervisor's `backoff_delay_ms` is the backoff step.
fn supervisor_spec(s: &jzx_supervisor_spec) -> Option<SupervisorSpec> {
    let strategy = match s.strategy {
        JZX_SUP_ONE_FOR_ONE => Strategy::OneForOne,
        JZX_SUP_ONE_FOR_ALL => Strategy::OneForAll,
        JZX_SUP_REST_FOR_ONE => Strategy::RestForOne,
        _ => return None,
    };
    let unlimited = s.intensity == 0 || s.period_ms == 0;
    Some(SupervisorSpec {
        strategy,
        intensity: if unlimited { u32::MAX } else { s.intensity },
        period: if unlimited {
            Duration::from_secs(1)
        } else {
            ms(s.period_ms)
        },
        backoff: Backoff {
            kind: backoff_kind(s.backoff)?,
            base: Duration::ZERO,
            step: ms(s.backoff_delay_ms),
            ..Backoff::none()
        },
        auto_shutdown: false,
    })
}

/// The Rust spec of a C child. With backoff NONE it uses the supervisor's,
/// with its own restart delay as base (R23); with its own kind, the same
/// base and the supervisor's step. Every incarnation reuses `state`.
fn child_spec(
    c: &jzx_child_spec,
    sup: &jzx_supervisor_spec,
    lp: *mut jzx_loop,
) -> Option<ChildSpec> {
    let behavior = c.behavior?;
    let state = c.state;
    let mode = match c.mode {
        JZX_CHILD_PERMANENT => RestartMode::Permanent,
        JZX_CHILD_TRANSIENT => RestartMode::Transient,
        JZX_CHILD_TEMPORARY => RestartMode::Temporary,
        _ => return None,
    };
    let kind = backoff_kind(c.backoff)?;
    let start = move |core: &mut crate::Core, opts: SpawnOptions| {
        core.spawn_with(CActor::new(behavior, state, lp), opts)
            .map(|a| a.id())
    };
    let mut spec = ChildSpec::from_start(TypeId::of::<CMsg>(), start)
        .mode(mode)
        .mailbox_cap(c.mailbox_cap)
        .restart_delay(ms(c.restart_delay_ms));
    if kind != BackoffKind::None {
        spec = spec.backoff(Backoff {
            kind,
            base: ms(c.restart_delay_ms),
            step: ms(sup.backoff_delay_ms),
            ..Backoff::none()
        });
    }
    if let Some(name) = name_of(c.name) {
        spec = spec.name(name);
    }
    Some(spec)
}

/// Spawns a supervisor; its children are started before this returns.
#[no_mangle]
pub extern "C" fn jzx_spawn_supervisor(
    lp: *mut jzx_loop,
    init: *const jzx_supervisor_init,
    parent: jzx_actor_id,
    out: *mut jzx_actor_id,
) -> jzx_err {
    // SAFETY: a non-null init points at a jzx_supervisor_init (C contract).
    let Some(init) = (unsafe { init.as_ref() }) else {
        return JZX_ERR_INVALID_ARG;
    };
    // A supervisor without children is refused, as in the original.
    if init.children.is_null() || init.child_count == 0 {
        return JZX_ERR_INVALID_ARG;
    }
    // SAFETY: `children` points at `child_count` specs (C contract).
    let children = unsafe { std::slice::from_raw_parts(init.children, init.child_count) };
    let Some(spec) = supervisor_spec(&init.supervisor) else {
        return JZX_ERR_INVALID_ARG;
    };
    let Some(specs) = children
        .iter()
        .map(|c| child_spec(c, &init.supervisor, lp))
        .collect::<Option<Vec<_>>>()
    else {
        return JZX_ERR_INVALID_ARG;
    };
    let parent = match parent {
        0 => None,
        raw => match actor_id(raw) {
            Ok(id) => Some(id),
            Err(e) => return e,
        },
    };
    guard(|| {
        with_core(lp, |core| {
            let opts = SpawnOptions {
                parent,
                ..SpawnOptions::default()
            };
            match core.spawn_supervisor_with(spec, specs, opts) {
                Ok(sup) => {
                    put(out, sup.id().to_raw());
                    JZX_OK
                }
                Err(e) => code(e),
            }
        })
    })
}

/// The current id of a supervisor's child (0 while it is down).
#[no_mangle]
pub extern "C" fn jzx_supervisor_child_id(
    lp: *mut jzx_loop,
    sup: jzx_actor_id,
    index: usize,
    out: *mut jzx_actor_id,
) -> jzx_err {
    if out.is_null() {
        return JZX_ERR_INVALID_ARG;
    }
    let sup = match actor_id(sup) {
        Ok(id) => id,
        Err(e) => return e,
    };
    guard(|| {
        with_core(lp, |core| match core.supervisor_child(sup, index) {
            Ok(child) => {
                put(out, child.map_or(0, |c| c.to_raw()));
                JZX_OK
            }
            Err(Error::InvalidArg) => JZX_ERR_INVALID_ARG,
            Err(e) => code(e),
        })
    })
}
