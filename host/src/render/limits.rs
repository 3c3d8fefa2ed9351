//! The limits a prototype runs under: what each one bounds, its default, and how a user raises
//! it. Limits belong to the user, never to the package.

use std::fmt;
use std::str::FromStr;

/// Every limit Kiln enforces on a prototype, by the name users write in `--limit NAME=VALUE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Units of Wasm work (fuel), counted over instantiation and the call. Deterministic:
    /// the same render takes the same fuel on any machine.
    Fuel,
    /// Wall-clock milliseconds for one call: a backstop for what fuel does not count.
    TimeMs,
    /// Bytes of linear memory, all memories of the render together.
    Memory,
    /// Table elements, all tables of the render together.
    TableElements,
    /// Core instances a component may create.
    Instances,
    /// Tables a component may create.
    Tables,
    /// Linear memories a component may create.
    Memories,
    /// Bytes of rendered object JSON.
    OutputBytes,
    /// Rendered objects.
    Objects,
    /// Bytes the prototype may log (log lines past it are dropped, not an error).
    LogBytes,
    /// Bytes the prototype may write to stdout and to stderr, each.
    StdioBytes,
    /// Bytes of Wasm stack.
    Stack,
    /// Functions a prototype may hold: defined core functions of all its modules, and the
    /// component's canonical functions (lifts, lowers, intrinsics), each of which compiles to
    /// native code. Checked before compiling.
    CompileFunctions,
    /// Bytes of function bodies, all modules together. Checked before compiling.
    CompileCodeBytes,
    /// Locals one function may declare. Checked before compiling.
    CompileLocals,
    /// How deep blocks, loops and ifs may nest in one function. Checked before compiling.
    CompileNesting,
    /// Wall-clock milliseconds one compile may take.
    CompileTimeMs,
    /// Bytes of memory (data segment and heap) the process that compiles a prototype may use.
    CompileMemory,
}

impl Limit {
    /// All limits, in the order `--help` lists them.
    pub const ALL: [Limit; 18] = [
        Limit::Fuel,
        Limit::TimeMs,
        Limit::Memory,
        Limit::TableElements,
        Limit::Instances,
        Limit::Tables,
        Limit::Memories,
        Limit::OutputBytes,
        Limit::Objects,
        Limit::LogBytes,
        Limit::StdioBytes,
        Limit::Stack,
        Limit::CompileFunctions,
        Limit::CompileCodeBytes,
        Limit::CompileLocals,
        Limit::CompileNesting,
        Limit::CompileTimeMs,
        Limit::CompileMemory,
    ];

    /// The name used on the command line and in app files.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Fuel => "fuel",
            Limit::TimeMs => "time-ms",
            Limit::Memory => "memory",
            Limit::TableElements => "table-elements",
            Limit::Instances => "instances",
            Limit::Tables => "tables",
            Limit::Memories => "memories",
            Limit::OutputBytes => "output-bytes",
            Limit::Objects => "objects",
            Limit::LogBytes => "log-bytes",
            Limit::StdioBytes => "stdio-bytes",
            Limit::Stack => "stack",
            Limit::CompileFunctions => "compile-functions",
            Limit::CompileCodeBytes => "compile-code-bytes",
            Limit::CompileLocals => "compile-locals",
            Limit::CompileNesting => "compile-nesting",
            Limit::CompileTimeMs => "compile-time-ms",
            Limit::CompileMemory => "compile-memory",
        }
    }

    /// What the limit bounds, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Limit::Fuel => "units of Wasm work",
            Limit::TimeMs => "milliseconds",
            Limit::Memory => "bytes of memory",
            Limit::TableElements => "table elements",
            Limit::Instances => "core instances",
            Limit::Tables => "tables",
            Limit::Memories => "memories",
            Limit::OutputBytes => "bytes of rendered objects",
            Limit::Objects => "rendered objects",
            Limit::LogBytes => "bytes of log",
            Limit::StdioBytes => "bytes of stdout/stderr",
            Limit::Stack => "bytes of Wasm stack",
            Limit::CompileFunctions => "functions",
            Limit::CompileCodeBytes => "bytes of code",
            Limit::CompileLocals => "locals in one function",
            Limit::CompileNesting => "levels of nested blocks",
            Limit::CompileTimeMs => "milliseconds of compiling",
            Limit::CompileMemory => "bytes of memory for compiling",
        }
    }

    /// How the user raises it.
    pub fn hint(self) -> String {
        format!(
            "if the prototype is trusted to need more, raise it with `--limit {}=<N>`",
            self.name()
        )
    }

    /// Read the setting `NAME=VALUE` given as its two halves: the limit `name` names and the
    /// amount `value` says, checked. `--limit` and the `[limits]` tables of app files both read
    /// settings here, so they accept the same and say the same about what they refuse.
    pub fn setting(name: &str, value: &str) -> Result<(Limit, u64), String> {
        let limit: Limit = name.trim().parse()?;
        let amount = parse_amount(value.trim())
            .ok_or_else(|| format!("limit `{limit}`: `{value}` is not a whole number"))?;
        if limit == Limit::Stack && amount > MAX_STACK {
            // The guest's stack lives on the host thread's 8 MiB stack: more would crash Kiln.
            return Err(format!("limit `stack` can be at most {MAX_STACK} (4 MiB)"));
        }
        Ok((limit, amount))
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Limit::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Limit::ALL.iter().map(|l| l.name()).collect();
            let suggestion = crate::prototype::suggest(s, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            format!("unknown limit `{s}`{suggestion}; known limits: {}", names.join(", "))
        })
    }
}

/// The largest Wasm stack Kiln allows: guests run on the calling thread's native stack.
pub const MAX_STACK: u64 = 4 << 20;

/// The values of every limit for one render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    values: [u64; Limit::ALL.len()],
}

impl Default for Limits {
    /// Generous for real prototypes (a Python guest included), tight enough that a hostile one
    /// is stopped in well under a second and a few hundred MiB.
    fn default() -> Self {
        let mut limits = Limits { values: [0; Limit::ALL.len()] };
        for (limit, value) in [
            (Limit::Fuel, 2_000_000_000),
            (Limit::TimeMs, 30_000),
            (Limit::Memory, 256 << 20),
            (Limit::TableElements, 1_000_000),
            (Limit::Instances, 64),
            (Limit::Tables, 64),
            (Limit::Memories, 16),
            (Limit::OutputBytes, 16 << 20),
            (Limit::Objects, 10_000),
            (Limit::LogBytes, 64 << 10),
            (Limit::StdioBytes, 64 << 10),
            (Limit::Stack, 1 << 20),
            // The Python example, the largest real prototype, has 13,489 functions, 6.6 MB of
            // code, at most 271 locals in a function and blocks nested 781 deep (its
            // interpreter's switch); it compiles in 5.4 s (quick) and 11.7 s (optimised) with
            // at most 450 MiB of data on 2 threads, 700 MiB on 8. These are 4-5 times that:
            // see the budget benchmark in docs/benchmarks.md.
            (Limit::CompileFunctions, 60_000),
            (Limit::CompileCodeBytes, 32 << 20),
            (Limit::CompileLocals, 1_000),
            (Limit::CompileNesting, 4_000),
            (Limit::CompileTimeMs, 60_000),
            (Limit::CompileMemory, 3 << 30),
        ] {
            limits.set(limit, value);
        }
        limits
    }
}

impl Limits {
    /// The value of `limit`.
    pub fn get(&self, limit: Limit) -> u64 {
        self.values[limit as usize]
    }

    /// Set `limit` to `value`.
    pub fn set(&mut self, limit: Limit, value: u64) -> &mut Self {
        self.values[limit as usize] = value;
        self
    }

    /// `get` as a `usize`, saturating (for wasmtime's APIs).
    pub fn get_usize(&self, limit: Limit) -> usize {
        usize::try_from(self.get(limit)).unwrap_or(usize::MAX)
    }

    /// Apply a `NAME=VALUE` setting, where VALUE is a whole number, optionally with a binary
    /// suffix (`KiB`, `MiB`, `GiB`) or in scientific notation (`2e9`).
    pub fn apply(&mut self, setting: &str) -> Result<(), String> {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("expected `NAME=VALUE`, got `{setting}`"))?;
        let (limit, value) = Limit::setting(name, value)?;
        self.set(limit, value);
        Ok(())
    }
}

fn parse_amount(text: &str) -> Option<u64> {
    let (digits, scale) = [("KiB", 1u64 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]
        .into_iter()
        .find_map(|(suffix, scale)| text.strip_suffix(suffix).map(|d| (d.trim(), scale)))
        .unwrap_or((text, 1));
    let base = match digits.parse::<u64>() {
        Ok(n) => n,
        Err(_) => {
            let f: f64 = digits.parse().ok()?;
            (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64)
                .then_some(f as u64)?
        }
    };
    base.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_with_suffixes_and_exponents() {
        let mut limits = Limits::default();
        limits.apply("memory=512MiB").unwrap();
        limits.apply("fuel=5e9").unwrap();
        limits.apply("objects = 20").unwrap();
        assert_eq!(limits.get(Limit::Memory), 512 << 20);
        assert_eq!(limits.get(Limit::Fuel), 5_000_000_000);
        assert_eq!(limits.get(Limit::Objects), 20);
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let mut limits = Limits::default();
        let unknown = limits.apply("memroy=1").unwrap_err();
        assert!(
            unknown.starts_with(
                "unknown limit `memroy` (did you mean `memory`?); known limits: fuel, time-ms, memory"
            ),
            "{unknown}"
        );
        assert_eq!(
            limits.apply("zzz=1").unwrap_err().split_once(';').unwrap().0,
            "unknown limit `zzz`"
        );
        assert_eq!(
            limits.apply("stack=8MiB").unwrap_err(),
            "limit `stack` can be at most 4194304 (4 MiB)"
        );
        assert_eq!(limits.apply("memory").unwrap_err(), "expected `NAME=VALUE`, got `memory`");
        assert_eq!(
            limits.apply("fuel=1.5").unwrap_err(),
            "limit `fuel`: `1.5` is not a whole number"
        );
    }

    #[test]
    fn every_limit_has_a_distinct_name() {
        for limit in Limit::ALL {
            assert_eq!(limit.name().parse::<Limit>(), Ok(limit));
            assert_eq!(Limit::ALL[limit as usize], limit, "ALL is in declaration order");
        }
    }
}
