//! Spreading per-object work (encoding, fingerprints) over every core, only when there is
//! enough of it to pay for the threads.

use rayon::prelude::*;

/// Below this many items, spreading work over threads costs more than it saves.
pub const PARALLEL_FROM: usize = 256;

/// `f` of each of `items`, in order: on rayon's threads from [`PARALLEL_FROM`] items, else here.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if items.len() < PARALLEL_FROM {
        items.iter().map(f).collect()
    } else {
        items.par_iter().map(f).collect()
    }
}
