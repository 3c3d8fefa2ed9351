//! A prototype with a secret param, `password`, for Kiln's secrets tests. Its `use` param says
//! what it does with the reference it gets: `place` puts it in a Secret as the SDK does; every
//! other use is an attempt to get the value out, which Kiln must refuse or render useless.

use std::hash::{DefaultHasher, Hash, Hasher};

use kiln_sdk::prelude::*;

struct SecretUser;

/// The reference as text, as a hostile prototype gets it: through the raw param value, not
/// the SDK's opaque type.
fn raw(ctx: &Context) -> Result<String, Error> {
    match ctx.params.value("password") {
        Some(kiln_sdk::ParamValue::Secret(reference)) => Ok(reference.clone()),
        _ => Err(Error::param("password", "is not a secret")),
    }
}

fn config_map(name: &str, data: Object) -> Object {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

/// Base64 (standard alphabet, padded), written out: the guest has no dependency for it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Prototype for SecretUser {
    fn describe() -> Info {
        Info::new("secret-user", "Places its secret param in a Secret, or tries to misuse it")
            .param(Param::secret("password").required().doc("The database password"))
            .param(Param::string("use").default("place").doc("What to do with the secret"))
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let name = &ctx.component;
        let placed = || -> Result<Object, Error> {
            let password = ctx.params.secret("password")?;
            let mut secret = secret(name, &ctx.env.namespace, [("password", &password)])?;
            secret["stringData"]["user"] = json!("admin");
            Ok(secret)
        };
        let reference = raw(ctx)?;
        let objects = match ctx.params.string("use")?.as_str() {
            "place" => vec![placed()?],
            "configmap" => vec![config_map(name, json!({ "password": reference }))],
            "annotation" => {
                let mut secret = placed()?;
                secret["metadata"]["annotations"] = json!({ "copy": reference });
                vec![secret]
            }
            "name" => vec![config_map(&reference, json!({}))],
            "key" => vec![config_map(name, json!({ reference: "x" }))],
            "data" => {
                let mut secret = placed()?;
                secret["data"] = json!({ "encoded": base64(reference.as_bytes()) });
                vec![secret]
            }
            "split" => {
                let (a, b) = reference.split_at(reference.len() / 2);
                vec![config_map(name, json!({ "a": a, "b": b }))]
            }
            "hash" => {
                let mut hasher = DefaultHasher::new();
                reference.hash(&mut hasher);
                vec![placed()?, config_map(name, json!({ "hash": hasher.finish().to_string() }))]
            }
            "log" => {
                kiln_sdk::log::warn(&format!("the password is {reference}"));
                vec![placed()?]
            }
            "error" => return Err(Error::failed(format!("the password is {reference}"))),
            "read" => {
                // Where else a value might be: the process environment, files.
                let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                let files: Vec<String> = ["/proc/self/environ", "/run/secrets", ".", "/"]
                    .iter()
                    .map(|path| match std::fs::read_to_string(path) {
                        Ok(text) => text,
                        Err(e) => e.to_string(),
                    })
                    .collect();
                let found = json!({ "vars": vars.join(","), "files": files.join(",") });
                vec![placed()?, config_map(name, found)]
            }
            "others" => {
                // What this prototype can see of the other components' params.
                let seen: Vec<String> = ctx
                    .components()
                    .iter()
                    .flat_map(|c| c.params.names().map(|p| format!("{}.{p}", c.name)))
                    .collect();
                vec![placed()?, config_map(name, json!({ "seen": seen.join(",") }))]
            }
            other => return Err(Error::param("use", format!("unknown use `{other}`"))),
        };
        Ok(objects)
    }
}

kiln_sdk::prototype!(SecretUser);
