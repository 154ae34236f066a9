//! Pinning a thread to one CPU, for the loops of a
//! [`Runtime`](crate::Runtime) that ask for it.

/// The CPUs this process may run on, in order; `None` where the system
/// does not say (or has no way to pin threads).
#[cfg(target_os = "linux")]
pub(crate) fn usable_cpus() -> Option<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is an empty set, a valid value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return None;
    }
    // SAFETY: CPU_ISSET reads the set initialised above, for indexes within
    // its size.
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    (!cpus.is_empty()).then_some(cpus)
}

/// As on Linux; other systems have no pinning here.
#[cfg(not(target_os = "linux"))]
pub(crate) fn usable_cpus() -> Option<Vec<usize>> {
    None
}

/// Pins the calling thread to `cpu`; false when the system refuses.
#[cfg(target_os = "linux")]
pub(crate) fn pin_to(cpu: usize) -> bool {
    // SAFETY: as in `usable_cpus`; CPU_SET writes within the set's size
    // (`cpu` below CPU_SETSIZE is checked first).
    unsafe {
        if cpu >= libc::CPU_SETSIZE as usize {
            return false;
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) == 0
    }
}

/// As on Linux; other systems have no pinning here.
#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_to(_cpu: usize) -> bool {
    false
}
