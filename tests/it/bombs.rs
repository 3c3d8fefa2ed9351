//! Compile bombs (issue 19, item 5): valid components whose code is cheap to write and costly
//! to compile. Without a compile budget, 3.6 MB of tiny functions took 8-12 s and 1.8 GiB to
//! compile, and 6 MB of nested blocks 0.9 GiB. Generated here, for the budget tests and the
//! `hostile` benchmark (which includes this file).

use wasm_encoder::{
    BlockType, CodeSection, Component, Function, FunctionSection, Instruction, Module,
    ModuleSection, TypeSection,
};

/// The functions of [`many_functions`] in about 3.6 MB: each is 4 bytes (its type, its body's
/// size, no locals, `end`).
pub const MANY_FUNCTIONS: u32 = 900_000;

/// The depth of [`nested_blocks`] in about 6 MB, in one function: each level is 3 bytes
/// (`block`, its type, `end`).
pub const NESTING: u32 = 2_000_000;

/// A component holding one core module of `count` functions that do nothing.
pub fn many_functions(count: u32) -> Vec<u8> {
    let mut body = Function::new([]);
    body.instruction(&Instruction::End);
    component(count, &body)
}

/// A component holding one core module of `functions` functions, each of blocks nested `depth`
/// deep.
pub fn nested_blocks(functions: u32, depth: u32) -> Vec<u8> {
    let mut body = Function::new([]);
    for _ in 0..depth {
        body.instruction(&Instruction::Block(BlockType::Empty));
    }
    // One `end` per block, and the function's own.
    for _ in 0..=depth {
        body.instruction(&Instruction::End);
    }
    component(functions, &body)
}

/// A component whose one module has `count` functions of type `() -> ()`, each `body`.
fn component(count: u32, body: &Function) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..count {
        functions.function(0);
        code.function(body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

/// Write `wasm` to `dir/name`, and return its path as a string for a command line.
pub fn write(dir: &std::path::Path, name: &str, wasm: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, wasm).unwrap();
    path.display().to_string()
}
