//! Param values as users type them (`--name=value`, `kiln param set`), typed by the param's
//! declared type (the first byte picks it). Parsing never panics, and a value that parses:
//! - parses the same from both command-line forms, `--p=TEXT` and `--p TEXT`;
//! - parses back to itself from the text Kiln shows for it (`param list`, `--help` defaults);
//! - written by `param set` into a component file, reads back as the same value, or is refused
//!   with an error naming the param (TOML has no `null`).
#![no_main]

use kiln::app::{ComponentFile, typed};
use kiln::fuzzing::parse_param_args;
use kiln::prototype::{Info, ParamSpec, ParamType, Permissions};
use libfuzzer_sys::fuzz_target;

const TYPES: [ParamType; 6] = [
    ParamType::String,
    ParamType::Integer,
    ParamType::Number,
    ParamType::Boolean,
    ParamType::StringList,
    ParamType::Object,
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let ty = TYPES[which as usize % TYPES.len()];
    let spec =
        ParamSpec { name: "p".into(), ty, doc: String::new(), required: false, default: None };
    let info = Info {
        name: "fuzz".into(),
        description: String::new(),
        params: vec![spec.clone()],
        permissions: Permissions::default(),
    };
    let parsed = spec.parse(text);
    for args in [vec![format!("--p={text}")], vec!["--p".to_string(), text.to_string()]] {
        let cli = parse_param_args(&info, &args).map(|p| p.and_then(|mut p| p.remove("p")));
        match (&parsed, cli) {
            (Ok(value), Ok(Some(cli))) => assert_eq!(&cli, value, "{args:?}"),
            (Err(_), Err(e)) => assert_eq!(e.param(), Some("p")),
            (parsed, cli) => panic!("{args:?}: parsed {parsed:?}, command line {cli:?}"),
        }
    }
    let Ok(value) = parsed else { return };
    assert_eq!(value.param_type(), ty);

    let shown = value.to_string();
    assert_eq!(spec.parse(&shown).as_ref(), Ok(&value), "shown as {shown:?}");

    let path = "components/web.toml";
    let file = "prototype = \"kubeflow/core/web\"\n";
    match kiln::fuzzing::set_param(path, file, &["params"], "p", &value) {
        Ok(written) => {
            let component = ComponentFile::parse(path, &written)
                .unwrap_or_else(|e| panic!("unreadable after `param set`: {e}\n{written}"));
            let back = typed(&spec, &component.params["p"])
                .unwrap_or_else(|e| panic!("mistyped after `param set`: {e}\n{written}"));
            assert_eq!(back, value, "{written}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("param `p`: "), "{message}");
            assert_eq!(ty, ParamType::Object, "only JSON can hold what TOML cannot: {message}");
        }
    }
});
