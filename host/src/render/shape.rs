//! The shape of a prototype's code, read before it is compiled: how many functions, how many
//! bytes of code, the most locals of one function and the deepest nesting of blocks. Compile
//! time and memory grow with these, so a package cannot hand the compiler more work than the
//! user's `compile-*` limits allow. Reads only, in one pass, and stops at the first limit it
//! passes; what it cannot read is malformed, and the compiler would refuse it too.

use wasmparser::{Operator, Parser, Payload};

use super::limits::{Limit, Limits};

/// What the compiler would be given, all modules of a component together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Defined core functions of every module, and the component's canonical functions.
    pub functions: u64,
    /// Bytes of function bodies (their code sections), every module together.
    pub code_bytes: u64,
    /// The most locals one function declares.
    pub max_locals: u64,
    /// The deepest nesting of blocks, loops, ifs and trys in one function.
    pub max_nesting: u64,
}

/// Why a component's shape is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Over `limit`: it has at least `found` (reading stops at the first limit passed).
    Over {
        /// The limit passed.
        limit: Limit,
        /// What was found so far, more than the limit allows.
        found: u64,
    },
    /// Not a Wasm binary the reader (and so the compiler) understands.
    Malformed(String),
}

/// How deep components and modules may nest inside each other. Real components nest two or
/// three levels; the reader keeps a parser per level, so this bounds its own memory.
pub const MAX_SECTION_NESTING: usize = 32;

/// The shape of `wasm` (a component or core module), refused at the first of `limits`'
/// `compile-*` shape limits it passes. One pass over the binary; every function body is read
/// operator by operator, since nesting can only be found that way.
pub fn check(wasm: &[u8], limits: &Limits) -> Result<Shape, Refused> {
    let mut shape = Shape::default();
    let over = |limit: Limit, found: u64| {
        if found > limits.get(limit) { Err(Refused::Over { limit, found }) } else { Ok(()) }
    };
    let malformed = |e: wasmparser::BinaryReaderError| Refused::Malformed(e.to_string());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                depth += 1;
                if depth > MAX_SECTION_NESTING {
                    return Err(Refused::Malformed(format!(
                        "components and modules are nested more than {MAX_SECTION_NESTING} deep"
                    )));
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            // Counted from the section headers, so a module of a million functions is refused
            // before any of them is read.
            Payload::CodeSectionStart { count, size, .. } => {
                shape.functions += u64::from(count);
                shape.code_bytes += u64::from(size);
                over(Limit::CompileFunctions, shape.functions)?;
                over(Limit::CompileCodeBytes, shape.code_bytes)?;
            }
            Payload::ComponentCanonicalSection(reader) => {
                shape.functions += u64::from(reader.count());
                over(Limit::CompileFunctions, shape.functions)?;
            }
            Payload::CodeSectionEntry(body) => {
                let (locals, nesting) = function(&body, limits)?;
                shape.max_locals = shape.max_locals.max(locals);
                shape.max_nesting = shape.max_nesting.max(nesting);
            }
            _ => {}
        }
    }
    Ok(shape)
}

/// The locals and deepest nesting of one function body, refused past the limits.
fn function(body: &wasmparser::FunctionBody<'_>, limits: &Limits) -> Result<(u64, u64), Refused> {
    let malformed = |e: wasmparser::BinaryReaderError| Refused::Malformed(e.to_string());
    let mut locals_reader = body.get_locals_reader().map_err(malformed)?;
    let mut locals = 0u64;
    for _ in 0..locals_reader.get_count() {
        let (count, _) = locals_reader.read().map_err(malformed)?;
        locals += u64::from(count);
    }
    if locals > limits.get(Limit::CompileLocals) {
        return Err(Refused::Over { limit: Limit::CompileLocals, found: locals });
    }
    let max_nesting = limits.get(Limit::CompileNesting);
    let mut operators = wasmparser::OperatorsReader::new(locals_reader.get_binary_reader());
    // The function's own body is depth 0; its last `end` closes it.
    let (mut depth, mut deepest) = (0u64, 0u64);
    while !operators.eof() {
        match operators.read().map_err(malformed)? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => {
                depth += 1;
                if depth > deepest {
                    deepest = depth;
                    if deepest > max_nesting {
                        return Err(Refused::Over { limit: Limit::CompileNesting, found: deepest });
                    }
                }
            }
            // `delegate` closes a `try` as `end` does.
            Operator::End | Operator::Delegate { .. } => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok((locals, deepest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unlimited() -> Limits {
        let mut limits = Limits::default();
        for limit in [
            Limit::CompileFunctions,
            Limit::CompileCodeBytes,
            Limit::CompileLocals,
            Limit::CompileNesting,
        ] {
            limits.set(limit, u64::MAX);
        }
        limits
    }

    fn shape(wat: &str) -> Shape {
        check(&wat::parse_str(wat).unwrap(), &unlimited()).unwrap()
    }

    #[test]
    fn a_module_is_measured_function_by_function() {
        let found = shape(
            r#"(module
                (func (local i32 i64) (local f32))
                (func (param i32) (result i32)
                  (block (loop (if (local.get 0) (then (block (nop))))))
                  (block (nop))
                  local.get 0)
                (func (local i32 i32 i32 i32 i32 i32 i32)))"#,
        );
        assert_eq!(found.functions, 3);
        assert_eq!(found.max_locals, 7);
        assert_eq!(found.max_nesting, 4, "block > loop > if > block");
        // Each body: its size, the locals' declarations, the operators.
        assert!(found.code_bytes > 10 && found.code_bytes < 60, "{found:?}");
    }

    /// Every module nested in a component counts, and so do the component's canonical
    /// functions: wasmtime compiles a trampoline for each.
    #[test]
    fn a_component_counts_every_module_and_its_canonical_functions() {
        let found = shape(
            r#"(component
                (core module $a (func) (func))
                (core module $b
                  (func (export "f") (result i32) (local i64) (block (block (nop))) i32.const 1))
                (core instance $i (instantiate $b))
                (func (export "f") (result s32) (canon lift (core func $i "f")))
                (component (core module (func (local i32 i32 i32)))))"#,
        );
        assert_eq!(found.functions, 5, "2 + 1 + the lift + 1: {found:?}");
        assert_eq!(found.max_locals, 3);
        assert_eq!(found.max_nesting, 2);
    }

    #[test]
    fn each_limit_stops_the_reading_with_what_it_found() {
        let wasm = wat::parse_str(
            r#"(module
                (func (local i32 i32 i32))
                (func (block (block (block (nop)))))
                (func))"#,
        )
        .unwrap();
        let with = |limit, value| {
            let mut limits = unlimited();
            limits.set(limit, value);
            check(&wasm, &limits)
        };
        assert_eq!(
            with(Limit::CompileFunctions, 2),
            Err(Refused::Over { limit: Limit::CompileFunctions, found: 3 })
        );
        assert_eq!(
            with(Limit::CompileLocals, 2),
            Err(Refused::Over { limit: Limit::CompileLocals, found: 3 })
        );
        assert_eq!(
            with(Limit::CompileNesting, 2),
            Err(Refused::Over { limit: Limit::CompileNesting, found: 3 })
        );
        let Err(Refused::Over { limit: Limit::CompileCodeBytes, found }) =
            with(Limit::CompileCodeBytes, 5)
        else {
            panic!("expected the code bytes limit");
        };
        assert!(found > 5);
        // At the limit is within it.
        assert!(with(Limit::CompileNesting, 3).is_ok());
        assert!(with(Limit::CompileFunctions, 3).is_ok());
    }

    /// Nesting counts what is open at once: a thousand blocks one after another are depth 1.
    #[test]
    fn blocks_in_sequence_do_not_add_up() {
        let blocks = "(block (nop))".repeat(1000);
        let found = shape(&format!("(module (func {blocks}))"));
        assert_eq!(found.max_nesting, 1);
        let nested = format!("{}{}", "(block ".repeat(1000), ")".repeat(1000));
        assert_eq!(shape(&format!("(module (func {nested}))")).max_nesting, 1000);
    }

    #[test]
    fn what_cannot_be_read_is_malformed() {
        assert!(matches!(
            check(b"\0asm\x0d\0\x01\0 no component", &unlimited()),
            Err(Refused::Malformed(_))
        ));
        let mut truncated = wat::parse_str("(module (func (block (nop))))").unwrap();
        truncated.truncate(truncated.len() - 3);
        assert!(matches!(check(&truncated, &unlimited()), Err(Refused::Malformed(_))));
    }

    #[test]
    fn components_nested_too_deep_are_refused_unread() {
        // The outermost component is not a nested section: one more than the limit is fine.
        let nested = |n| format!("{}{}", "(component ".repeat(n + 1), ")".repeat(n + 1));
        let deep = nested(MAX_SECTION_NESTING + 1);
        match check(&wat::parse_str(&deep).unwrap(), &unlimited()) {
            Err(Refused::Malformed(message)) => {
                assert!(message.contains("nested more than"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(check(&wat::parse_str(nested(MAX_SECTION_NESTING)).unwrap(), &unlimited()).is_ok());
    }
}
