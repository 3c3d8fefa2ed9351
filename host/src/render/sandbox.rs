//! The per-render store state: a WASI context that grants nothing (no preopens, env, args or
//! network; a fixed clock; seeded randomness), captured stdio, the bounded logger and the
//! resource limiter. Nothing here outlives one render.

use rand::SeedableRng;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{Pollable, subscribe};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::bindings::kiln::prototype::{app, log, types::Level};
use super::bindings::{WIT_PACKAGE, WORLD_IMPORTS};
use super::limits::{Limit, Limits};
use crate::prototype::ComponentView;

/// The instant every prototype sees as "now": 2000-01-01T00:00:00Z. Fixed so renders are
/// reproducible; prototypes that need a time must take it as a param.
pub const FIXED_TIME_SECS: u64 = 946_684_800;

/// The seed of every prototype's random numbers, for the same reason.
const RANDOM_SEED: u64 = 0x6b69_6c6e;

/// WASI interfaces a prototype may import, by prefix; and the interfaces of the WIT package
/// ([`WIT_PACKAGE`]). Everything else is refused before instantiation, with an error that
/// names the import.
const ALLOWED_WASI: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    // Rust's std imports the filesystem interfaces; no directory is ever preopened, so every
    // path lookup fails.
    "wasi:filesystem/",
];

/// Why an import is refused, for the error message. An interface of the WIT package is let
/// through here whatever its version; the engine then refuses another version by name.
pub fn import_denied(name: &str) -> Option<String> {
    let ours = name.strip_prefix(WIT_PACKAGE).is_some_and(|rest| rest.starts_with('/'));
    if ours || ALLOWED_WASI.iter().any(|prefix| name.starts_with(prefix)) {
        None
    } else if name.starts_with("wasi:sockets/") || name.starts_with("wasi:http/") {
        Some("prototypes run without network access".into())
    } else {
        Some(format!("prototypes may import only {} and sandboxed WASI", WORLD_IMPORTS.join(", ")))
    }
}

/// What a log line costs against `log-bytes` beyond its text.
const LOG_LINE_OVERHEAD: usize = 16;

/// One log line from a prototype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
}

/// A log line's severity (the WIT `level`, as a host type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Detail for authors.
    Debug,
    /// Progress.
    Info,
    /// Worth a look.
    Warn,
    /// Went wrong.
    Error,
}

/// The store's data for one render.
pub struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: Limiter,
    pub(super) logs: Vec<LogLine>,
    log_bytes: usize,
    pub(super) logs_dropped: usize,
    log_limit: usize,
    stdio_limit: usize,
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
    /// What `app.components` answers: the app's components during `generate`, none otherwise.
    pub(super) components: std::sync::Arc<[ComponentView]>,
}

impl Host {
    /// Fresh state granting nothing, bounded by `limits`.
    pub fn new(limits: &Limits) -> Self {
        let stdio = limits.get_usize(Limit::StdioBytes);
        let stdout = MemoryOutputPipe::new(stdio);
        let stderr = MemoryOutputPipe::new(stdio);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FixedClock)
            .monotonic_clock(FixedClock)
            .secure_random(rand::rngs::StdRng::seed_from_u64(RANDOM_SEED))
            .insecure_random(rand::rngs::StdRng::seed_from_u64(RANDOM_SEED + 1))
            .insecure_random_seed(u128::from(RANDOM_SEED))
            .max_random_size(1 << 16)
            .build();
        Host {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(limits),
            logs: Vec::new(),
            log_bytes: 0,
            logs_dropped: 0,
            log_limit: limits.get_usize(Limit::LogBytes),
            stdio_limit: stdio,
            stdout,
            stderr,
            components: Default::default(),
        }
    }

    /// Whether stdout or stderr is full: writes past the `stdio-bytes` limit fail in the guest
    /// (as a closed stream), which is how a print-happy prototype ends up crashing.
    pub fn stdio_full(&self) -> bool {
        [&self.stdout, &self.stderr].iter().any(|pipe| pipe.contents().len() >= self.stdio_limit)
    }

    /// Everything the prototype logged or printed, in order: log lines, then stdout and stderr
    /// lines, then a note of what was dropped.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        let mut lines = std::mem::take(&mut self.logs);
        for (pipe, level) in [(&self.stdout, LogLevel::Info), (&self.stderr, LogLevel::Warn)] {
            let bytes = pipe.contents();
            let text = String::from_utf8_lossy(&bytes);
            lines.extend(text.lines().map(|l| LogLine { level, message: l.to_string() }));
        }
        if self.stdio_full() {
            lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "output truncated at the `stdio-bytes` limit of {}",
                    self.stdio_limit
                ),
            });
        }
        if self.logs_dropped > 0 {
            lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "{} more log lines dropped (over the `log-bytes` limit of {})",
                    self.logs_dropped, self.log_limit
                ),
            });
        }
        lines
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl log::Host for Host {
    fn log(&mut self, level: Level, message: String) {
        // Each line costs its length plus a fixed overhead, so empty lines are not free.
        let cost = message.len() + LOG_LINE_OVERHEAD;
        if self.log_bytes + cost > self.log_limit {
            self.logs_dropped += 1;
            return;
        }
        self.log_bytes += cost;
        let level = match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.logs.push(LogLine { level, message });
    }
}

impl app::Host for Host {
    fn components(&mut self) -> Vec<super::bindings::kiln::prototype::types::ComponentView> {
        self.components.iter().map(super::bindings::component_to_wit).collect()
    }
}

impl super::bindings::kiln::prototype::types::Host for Host {}

/// The WASI monotonic clock whose subscriptions [`no_sleeping`] replaces.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Make every clock subscription ready at once. WASI's own implementation sleeps for real,
/// which would let a guest block the host for as long as it likes without using any fuel;
/// with the clock stopped, time passes for nobody, and a guest that waits for it in a loop
/// burns its fuel instead.
pub fn no_sleeping(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    for name in ["subscribe-duration", "subscribe-instant"] {
        clock.func_wrap(name, |mut store: StoreContextMut<'_, Host>, (_,): (u64,)| {
            let table = &mut store.data_mut().table;
            let ready = table.push(Ready)?;
            Ok((subscribe(table, ready)?,))
        })?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// A pollable that is always ready.
struct Ready;

#[async_trait::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

/// A clock stopped at [`FIXED_TIME_SECS`].
struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_secs(FIXED_TIME_SECS)
    }
}

impl HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// Enforces memory and table limits over the whole render (every memory and table of every
/// core instance together), and tells which one tripped, so the error names it.
pub struct Limiter {
    memory: usize,
    memory_used: usize,
    table_elements: usize,
    table_elements_used: usize,
    instances: usize,
    tables: usize,
    memories: usize,
}

/// The error a limiter raises inside the guest; recovered by downcasting in `engine`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("limit `{0}` exceeded")]
pub struct LimitExceeded(pub Limit);

impl Limiter {
    fn new(limits: &Limits) -> Self {
        Limiter {
            memory: limits.get_usize(Limit::Memory),
            memory_used: 0,
            table_elements: limits.get_usize(Limit::TableElements),
            table_elements_used: 0,
            instances: limits.get_usize(Limit::Instances),
            tables: limits.get_usize(Limit::Tables),
            memories: limits.get_usize(Limit::Memories),
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let used = self.memory_used.saturating_add(desired.saturating_sub(current));
        if used > self.memory {
            return Err(wasmtime::Error::new(LimitExceeded(Limit::Memory)));
        }
        self.memory_used = used;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let used = self.table_elements_used.saturating_add(desired.saturating_sub(current));
        if used > self.table_elements {
            return Err(wasmtime::Error::new(LimitExceeded(Limit::TableElements)));
        }
        self.table_elements_used = used;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}
