//! What a component imports, read from its binary before it is compiled, so a prototype that
//! imports something Kiln does not offer is refused at once and by name, not after seconds of
//! compiling (an 18 MiB Python guest takes tens of seconds). Reads only; decides nothing.

use wasmparser::{ComponentTypeRef, Encoding, Parser, Payload};

/// The names of the imports of the component in `wasm` (its own, not those of components or
/// modules nested in it), in order, except imported types: they are names for the types of
/// the world (`prototype-info`), not capabilities. `None` when `wasm` is not a well-formed component: the
/// compiler then explains what is wrong.
pub fn of(wasm: &[u8]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    // Nesting depth: `parse_all` walks nested modules and components inline, each closed by
    // its own `End`.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::Version { encoding, .. } if depth == 0 && encoding != Encoding::Component => {
                return None;
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.ok()?;
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        names.push(import.name.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn garbage_and_core_modules_are_left_to_the_compiler() {
        assert_eq!(of(b"not wasm"), None);
        // The smallest core module: magic and version 1.
        assert_eq!(of(b"\0asm\x01\0\0\0"), None);
    }
}
