//! `kiln.lock`: reading never panics, and a lock Kiln reads is one it writes back exactly:
//! read, write, read gives the same packages, and writing that again gives the same text.
#![no_main]

use kiln::fuzzing::{parse_lock, render_lock};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(packages) = parse_lock(text) else { return };
    let written = render_lock(packages.clone());
    let back = parse_lock(&written)
        .unwrap_or_else(|e| panic!("kiln.lock unreadable after writing it: {e}\n{written}"));
    assert_eq!(back, packages, "{written}");
    assert_eq!(render_lock(back), written);
});
