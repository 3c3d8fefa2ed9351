//! {{name}}: a Kiln prototype that renders a Deployment. Build it with `./build`, try it with
//! `kiln prototype preview {{name}}.wasm --image=nginx:1.27 --replicas=2`.

use kiln_sdk::prelude::*;

struct {{type}};

impl Prototype for {{type}} {
    fn describe() -> Info {
        Info::new("{{name}}", "A Deployment of one container")
            .param(Param::string("image").default("nginx:1.27").doc("The container image"))
            .param(Param::integer("replicas").default(1).doc("How many pods to run"))
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let image = ctx.params.string("image")?;
        let replicas = ctx.params.integer("replicas")?;
        if !(0..=100).contains(&replicas) {
            return Err(Error::param("replicas", format!("{replicas} is not between 0 and 100")));
        }
        let labels = json!({ "app.kubernetes.io/name": ctx.component });
        Ok(vec![json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": ctx.component,
                "namespace": ctx.env.namespace,
                "labels": labels,
            },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": labels },
                "template": {
                    "metadata": { "labels": labels },
                    "spec": { "containers": [{ "name": "main", "image": image }] },
                },
            },
        })])
    }
}

kiln_sdk::prototype!({{type}});
