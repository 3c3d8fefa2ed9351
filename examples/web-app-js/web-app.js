// web-app-js: a web workload (Deployment + Service + HorizontalPodAutoscaler) as a Kiln
// prototype written in JavaScript. It implements the `prototype` world of wit/prototype.wit and
// is built with componentize-qjs (QuickJS): see examples/README.md.
//
// It renders exactly what examples/web-app-python renders for the same params; the tests
// compare the two.

import log from "kiln:prototype/log@0.3.0";

// The params, in the order `--help` lists them. Types are the WIT `param-type` cases.
const PARAMS = [
  param("name", "string", "The workload's name: a DNS-1123 label used for every object", { required: true }),
  param("image", "string", "The container image, e.g. `nginx:1.27`", { required: true }),
  param("port", "integer", "The port the container listens on", { default: 8080 }),
  param("servicePort", "integer", "The port the Service exposes", { default: 80 }),
  param("serviceType", "string", "ClusterIP, NodePort or LoadBalancer", { default: "ClusterIP" }),
  param("autoscale", "boolean", "Scale with a HorizontalPodAutoscaler (autoscaling/v2)", { default: true }),
  param("minReplicas", "integer", "Replicas at least (the fixed count when autoscale is off)", { default: 2 }),
  param("maxReplicas", "integer", "Replicas at most, when autoscaling", { default: 5 }),
  param("cpuTarget", "integer", "Average CPU utilisation to scale at, in percent of the request", { default: 80 }),
  param("cpuRequest", "string", "CPU request of the container, e.g. `100m`", { default: "100m" }),
  param("memoryRequest", "string", "Memory request of the container, e.g. `128Mi`", { default: "128Mi" }),
  param("args", "string-list", "Arguments of the container", { default: [] }),
  param("labels", "object", "Extra labels for every object, as a JSON object of strings", { default: "{}" }),
  // A secret: optional, and never with a default. The prototype gets a reference, not the
  // value, and may only place it in a Secret's `stringData` (Kiln puts the value there).
  {
    name: "apiKey",
    type: "secret",
    doc: "An API key, as a secret of the environment: a Secret holds it, the container reads it as API_KEY",
    required: false,
    default: null,
  },
];

const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"];

function param(name, type, doc, { required = false, default: value } = {}) {
  const defaultValue = value === undefined ? null : { tag: type, val: value };
  return { name, type, doc, required, default: defaultValue };
}

export function describe() {
  return {
    name: "web-app-js",
    description:
      "A web workload: Deployment, Service and HorizontalPodAutoscaler (JavaScript)\n\n" +
      "The Deployment's pods carry the Service's selector; the autoscaler scales the " +
      "Deployment on CPU. Objects go to the environment's namespace.",
    params: PARAMS,
    permissions: { clusterScoped: [], rbac: false, otherNamespaces: false },
  };
}

// A rejected param: Kiln shows the message against the param.
function invalid(name, message) {
  return { tag: "invalid-param", val: { name, message } };
}

function isLabel(value) {
  return value.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);
}

function checkRange(p, name, low, high) {
  if (p[name] < low || p[name] > high) {
    throw invalid(name, `${p[name]} is not between ${low} and ${high}`);
  }
}

function check(p) {
  if (!isLabel(p.name)) throw invalid("name", `\`${p.name}\` is not a valid DNS-1123 label`);
  if (p.image === "" || /\s/.test(p.image)) {
    throw invalid("image", `\`${p.image}\` is not a container image reference`);
  }
  checkRange(p, "port", 1, 65535);
  checkRange(p, "servicePort", 1, 65535);
  if (!SERVICE_TYPES.includes(p.serviceType)) {
    throw invalid("serviceType", `\`${p.serviceType}\` is not one of ${SERVICE_TYPES.join(", ")}`);
  }
  checkRange(p, "minReplicas", 1, 1000);
  checkRange(p, "maxReplicas", 1, 1000);
  if (p.maxReplicas < p.minReplicas) {
    throw invalid("maxReplicas", `${p.maxReplicas} is less than minReplicas (${p.minReplicas})`);
  }
  checkRange(p, "cpuTarget", 1, 100);
  const labels = JSON.parse(p.labels);
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) {
    throw invalid("labels", "must be a JSON object of strings");
  }
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== "string") throw invalid("labels", `the value of \`${key}\` is not a string`);
  }
  return labels;
}

export function generate(component, params, environment) {
  const p = {};
  for (const { name, value } of params) p[name] = value.val;
  try {
    return render(component, p, environment);
  } catch (e) {
    if (e && e.tag === "invalid-param") throw e;
    // A bug, not a bad param: `failed` with the exception, rather than a bare trap.
    throw { tag: "failed", val: String(e) };
  }
}

// The objects of `component` as JSON, from its params by name.
function render(component, p, environment) {
  const extraLabels = check(p);

  const selector = {
    "app.kubernetes.io/name": p.name,
    "app.kubernetes.io/instance": component,
  };
  const labels = { ...Object.fromEntries(environment.labels), ...extraLabels, ...selector };
  const metadata = { name: p.name, namespace: environment.namespace, labels };

  const container = {
    name: p.name,
    image: p.image,
    ports: [{ name: "http", containerPort: p.port }],
    resources: { requests: { cpu: p.cpuRequest, memory: p.memoryRequest } },
  };
  if (p.args.length > 0) container.args = p.args;
  const apiKeySecret = `${p.name}-api-key`;
  if (p.apiKey !== undefined) {
    container.env = [
      { name: "API_KEY", valueFrom: { secretKeyRef: { name: apiKeySecret, key: "API_KEY" } } },
    ];
  }
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      selector: { matchLabels: selector },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  };
  // With an autoscaler, the Deployment leaves `replicas` to it, so applying does not fight it.
  if (!p.autoscale) deployment.spec.replicas = p.minReplicas;

  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: {
      type: p.serviceType,
      selector,
      ports: [{ name: "http", port: p.servicePort, targetPort: "http" }],
    },
  };
  const objects = [deployment, service];
  if (p.autoscale) {
    objects.push({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: p.name },
        minReplicas: p.minReplicas,
        maxReplicas: p.maxReplicas,
        metrics: [
          {
            type: "Resource",
            resource: {
              name: "cpu",
              target: { type: "Utilization", averageUtilization: p.cpuTarget },
            },
          },
        ],
      },
    });
  }
  if (p.apiKey !== undefined) {
    // The reference, whole, as a value of `stringData`: the one place it may go.
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { ...metadata, name: apiKeySecret },
      type: "Opaque",
      stringData: { API_KEY: p.apiKey },
    });
  }
  log.log("debug", `rendering ${objects.length} objects for \`${component}\``);
  return JSON.stringify(objects);
}
