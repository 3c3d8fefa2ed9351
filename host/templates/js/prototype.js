// {{name}}: a Kiln prototype that renders a Deployment. Build it with `./build`, try it with
// `kiln prototype preview {{name}}.wasm --image=nginx:1.27 --replicas=2`.

import log from "kiln:prototype/log@{{wit_version}}";

export function describe() {
  return {
    name: "{{name}}",
    description: "A Deployment of one container",
    params: [
      { name: "image", type: "string", doc: "The container image", required: false,
        default: { tag: "string", val: "nginx:1.27" } },
      { name: "replicas", type: "integer", doc: "How many pods to run", required: false,
        default: { tag: "integer", val: 1 } },
    ],
    permissions: { clusterScoped: [], rbac: false, otherNamespaces: false },
  };
}

// `result<objects-json, render-error>`: return the JSON, or throw a `render-error`.
export function generate(component, params, environment) {
  // Params arrive checked against `describe` and completed with defaults.
  const p = Object.fromEntries(params.map(({ name, value }) => [name, value.val]));
  if (p.replicas < 0 || p.replicas > 100) {
    throw { tag: "invalid-param", val: { name: "replicas", message: `${p.replicas} is not between 0 and 100` } };
  }
  try {
    const labels = { "app.kubernetes.io/name": component };
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: component, namespace: environment.namespace, labels },
      spec: {
        replicas: p.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "main", image: p.image }] },
        },
      },
    };
    log.log("debug", `rendered \`${component}\``);
    return JSON.stringify([deployment]);
  } catch (e) {
    // A bug, not a bad param: say what it was rather than trap.
    throw { tag: "failed", val: String(e) };
  }
}
