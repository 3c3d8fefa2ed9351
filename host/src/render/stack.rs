//! Native stack for guests. wasmtime runs a guest on the calling thread's stack and stops it at
//! the Wasm stack limit, counted from where the call starts: the thread needs that much room,
//! and more for the host's own frames, or deep recursion would run off the end of the native
//! stack and crash Kiln instead of ending at the limit.

use std::cell::Cell;
use std::thread::{Scope, ScopedJoinHandle};

/// Native stack for the host's own frames on a guest's thread, beside the Wasm stack.
const HOST_STACK: usize = 4 << 20;

thread_local! {
    /// The native stack of a thread that [`spawn`] started; 0 on any other.
    static STARTED_WITH: Cell<usize> = const { Cell::new(0) };
}

/// The native stack a thread needs to run guests under the Wasm stack limit `max_stack`.
fn needed(max_stack: usize) -> usize {
    max_stack.saturating_add(HOST_STACK)
}

/// Whether the calling thread has room for guests under the Wasm stack limit `max_stack`: a
/// thread [`spawn`] started with enough, or the main thread if the process's stack limit (up
/// to which the main thread's stack grows) is enough. Other threads' stacks have a size fixed
/// when they started, which is not known here.
pub fn fits(max_stack: usize) -> bool {
    let needed = needed(max_stack);
    STARTED_WITH.get() >= needed
        || (std::thread::current().name() == Some("main")
            && main_stack_limit().is_none_or(|limit| limit >= needed as u64))
}

/// The process's stack limit (`None`: unlimited), read once: Kiln never changes it.
fn main_stack_limit() -> Option<u64> {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| rustix::process::getrlimit(rustix::process::Resource::Stack).current)
}

/// Start a thread in `scope` with room for guests under the Wasm stack limit `max_stack`.
pub fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    max_stack: usize,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::io::Result<ScopedJoinHandle<'scope, T>> {
    let size = needed(max_stack);
    std::thread::Builder::new().name("kiln-guest".into()).stack_size(size).spawn_scoped(
        scope,
        move || {
            STARTED_WITH.set(size);
            f()
        },
    )
}

/// Run `guest` (a call into guest code) on this thread if it has room for the Wasm stack limit
/// `max_stack`, else on a thread started for it; here after all if none can be started.
pub fn run<T: Send>(max_stack: usize, guest: impl FnOnce() -> T + Send) -> T {
    if fits(max_stack) {
        return guest();
    }
    let mut guest = Some(guest);
    let ran = std::thread::scope(|scope| {
        let slot = &mut guest;
        let thread = spawn(scope, max_stack, move || slot.take().map(|guest| guest())).ok()?;
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    match (ran, guest) {
        (Some(output), _) => output,
        (None, Some(guest)) => guest(),
        (None, None) => unreachable!("a guest that ran returns its output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_it_starts_have_room_and_others_do_not() {
        let limit = 1 << 20;
        // A thread of unknown stack that is not the main thread.
        assert!(!std::thread::spawn(move || fits(limit)).join().unwrap());
        let fits_there = std::thread::scope(|s| spawn(s, limit, || fits(limit)).unwrap().join());
        assert!(fits_there.unwrap());
        let bigger = std::thread::scope(|s| spawn(s, limit, || fits(2 * limit)).unwrap().join());
        assert!(!bigger.unwrap(), "a thread started for a smaller limit");
        let moved = std::thread::spawn(move || run(limit, || fits(limit))).join().unwrap();
        assert!(moved, "run moves the guest to a thread with room");
    }
}
