//! Secret params: a prototype holds a [`SecretRef`], never the value, and can only place it
//! whole in a Secret's `stringData`, which [`secret`] builds. Kiln puts the value there after
//! the render; the reference anywhere else fails the render.

use crate::{Error, Object};

/// A reference to a secret's value, from [`crate::Params::secret`]. Opaque: it cannot be
/// printed, compared or turned into text, only placed with [`secret`]. It differs at every
/// render and is worthless outside it.
#[derive(Clone)]
pub struct SecretRef(pub(crate) String);

impl std::fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretRef(..)")
    }
}

/// A `v1` Secret named `name` in `namespace` whose `stringData` holds each secret of `data`
/// under its key. Keys that are not secret can be added to the returned object's `stringData`,
/// labels to its `metadata`.
///
/// ```no_run
/// # use kiln_sdk::prelude::*;
/// # fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
/// let password = ctx.params.secret("password")?;
/// let namespace = ctx.namespace("namespace")?;
/// Ok(vec![secret(&ctx.component, &namespace, [("password", &password)])?])
/// # }
/// ```
pub fn secret<'a>(
    name: &str,
    namespace: &str,
    data: impl IntoIterator<Item = (&'a str, &'a SecretRef)>,
) -> Result<Object, Error> {
    let string_data: serde_json::Map<String, Object> =
        data.into_iter().map(|(key, secret)| (key.to_string(), secret.0.clone().into())).collect();
    Ok(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": name, "namespace": namespace },
        "type": "Opaque",
        "stringData": string_data,
    }))
}
