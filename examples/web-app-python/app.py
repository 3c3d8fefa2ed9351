"""web-app-python: a web workload (Deployment + Service + HorizontalPodAutoscaler) as a Kiln
prototype written in Python. It implements the `prototype` world of wit/prototype.wit and is
built with componentize-py: see examples/README.md.

It renders exactly what examples/web-app-js renders for the same params; the tests compare the
two.
"""

import json
import re
import sys
import traceback
from typing import List

import wit_world
from componentize_py_types import Err
from wit_world.imports import log
from wit_world.imports.types import (
    Environment,
    Level,
    Param,
    ParamError,
    ParamSpec,
    ParamType,
    ParamValue_Boolean,
    ParamValue_Integer,
    ParamValue_Object,
    ParamValue_String,
    ParamValue_StringList,
    Permissions,
    PrototypeInfo,
    RenderError_Failed,
    RenderError_InvalidParam,
)


class LogStream:
    """Sends what is printed to Kiln's log, one line at a time. The component is built with
    WASI stubbed out (CPython's runtime would import sockets, which Kiln refuses), so the real
    stdout and stderr would trap."""

    def __init__(self, level: Level):
        self.level = level
        self.pending = ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            log.log(self.level, line)
        return len(text)

    def flush(self) -> None:
        pass


# Runs when the component is built (the module is initialised then and snapshotted).
sys.stdout = LogStream(Level.INFO)
sys.stderr = LogStream(Level.WARN)


def param(name, type_, doc, default=None):
    """A param spec; without a default the param is required."""
    return ParamSpec(name=name, type=type_, doc=doc, required=default is None, default=default)


# The params, in the order `--help` lists them.
PARAMS = [
    param("name", ParamType.STRING, "The workload's name: a DNS-1123 label used for every object"),
    param("image", ParamType.STRING, "The container image, e.g. `nginx:1.27`"),
    param("port", ParamType.INTEGER, "The port the container listens on", ParamValue_Integer(8080)),
    param("servicePort", ParamType.INTEGER, "The port the Service exposes", ParamValue_Integer(80)),
    param(
        "serviceType",
        ParamType.STRING,
        "ClusterIP, NodePort or LoadBalancer",
        ParamValue_String("ClusterIP"),
    ),
    param(
        "autoscale",
        ParamType.BOOLEAN,
        "Scale with a HorizontalPodAutoscaler (autoscaling/v2)",
        ParamValue_Boolean(True),
    ),
    param(
        "minReplicas",
        ParamType.INTEGER,
        "Replicas at least (the fixed count when autoscale is off)",
        ParamValue_Integer(2),
    ),
    param(
        "maxReplicas",
        ParamType.INTEGER,
        "Replicas at most, when autoscaling",
        ParamValue_Integer(5),
    ),
    param(
        "cpuTarget",
        ParamType.INTEGER,
        "Average CPU utilisation to scale at, in percent of the request",
        ParamValue_Integer(80),
    ),
    param(
        "cpuRequest",
        ParamType.STRING,
        "CPU request of the container, e.g. `100m`",
        ParamValue_String("100m"),
    ),
    param(
        "memoryRequest",
        ParamType.STRING,
        "Memory request of the container, e.g. `128Mi`",
        ParamValue_String("128Mi"),
    ),
    param("args", ParamType.STRING_LIST, "Arguments of the container", ParamValue_StringList([])),
    param(
        "labels",
        ParamType.OBJECT,
        "Extra labels for every object, as a JSON object of strings",
        ParamValue_Object("{}"),
    ),
    # A secret: optional, and never with a default. The prototype gets a reference, not the
    # value, and may only place it in a Secret's `stringData` (Kiln puts the value there).
    ParamSpec(
        name="apiKey",
        type=ParamType.SECRET,
        doc="An API key, as a secret of the environment: a Secret holds it, the container "
        "reads it as API_KEY",
        required=False,
        default=None,
    ),
]

SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"]
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def invalid(name: str, message: str) -> Err:
    """A rejected param: Kiln shows the message against the param."""
    return Err(RenderError_InvalidParam(ParamError(name=name, message=message)))


def check_range(p: dict, name: str, low: int, high: int) -> None:
    if not low <= p[name] <= high:
        raise invalid(name, f"{p[name]} is not between {low} and {high}")


def check(p: dict) -> dict:
    """Validate the params; return the extra labels."""
    if len(p["name"]) > 63 or not LABEL.match(p["name"]):
        raise invalid("name", f"`{p['name']}` is not a valid DNS-1123 label")
    if p["image"] == "" or re.search(r"\s", p["image"]):
        raise invalid("image", f"`{p['image']}` is not a container image reference")
    check_range(p, "port", 1, 65535)
    check_range(p, "servicePort", 1, 65535)
    if p["serviceType"] not in SERVICE_TYPES:
        raise invalid(
            "serviceType", f"`{p['serviceType']}` is not one of {', '.join(SERVICE_TYPES)}"
        )
    check_range(p, "minReplicas", 1, 1000)
    check_range(p, "maxReplicas", 1, 1000)
    if p["maxReplicas"] < p["minReplicas"]:
        raise invalid(
            "maxReplicas", f"{p['maxReplicas']} is less than minReplicas ({p['minReplicas']})"
        )
    check_range(p, "cpuTarget", 1, 100)
    labels = json.loads(p["labels"])
    if not isinstance(labels, dict):
        raise invalid("labels", "must be a JSON object of strings")
    for key, value in labels.items():
        if not isinstance(value, str):
            raise invalid("labels", f"the value of `{key}` is not a string")
    return labels


class WitWorld(wit_world.WitWorld):
    def describe(self) -> PrototypeInfo:
        return PrototypeInfo(
            name="web-app-python",
            description=(
                "A web workload: Deployment, Service and HorizontalPodAutoscaler (Python)\n\n"
                "The Deployment's pods carry the Service's selector; the autoscaler scales the "
                "Deployment on CPU. Objects go to the environment's namespace."
            ),
            params=PARAMS,
            permissions=Permissions(cluster_scoped=[], rbac=False, other_namespaces=False),
        )

    def generate(self, component: str, params: List[Param], environment: Environment) -> str:
        try:
            return render(component, {p.name: p.value.value for p in params}, environment)
        except Err:
            raise
        except Exception as e:
            # A bug, not a bad param: `failed` with the exception, rather than a bare trap.
            print(traceback.format_exc(), file=sys.stderr)
            raise Err(RenderError_Failed(f"{type(e).__name__}: {e}"))


def render(component: str, p: dict, environment: Environment) -> str:
    """The objects of `component` as JSON, from its params by name."""
    extra_labels = check(p)

    selector = {
        "app.kubernetes.io/name": p["name"],
        "app.kubernetes.io/instance": component,
    }
    labels = {**dict(environment.labels), **extra_labels, **selector}
    metadata = {"name": p["name"], "namespace": environment.namespace, "labels": labels}

    container = {
        "name": p["name"],
        "image": p["image"],
        "ports": [{"name": "http", "containerPort": p["port"]}],
        "resources": {"requests": {"cpu": p["cpuRequest"], "memory": p["memoryRequest"]}},
    }
    if p["args"]:
        container["args"] = p["args"]
    api_key_secret = f"{p['name']}-api-key"
    if "apiKey" in p:
        container["env"] = [
            {
                "name": "API_KEY",
                "valueFrom": {"secretKeyRef": {"name": api_key_secret, "key": "API_KEY"}},
            }
        ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    # With an autoscaler, the Deployment leaves `replicas` to it, so applying does not
    # fight it.
    if not p["autoscale"]:
        deployment["spec"]["replicas"] = p["minReplicas"]

    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": p["serviceType"],
            "selector": selector,
            "ports": [{"name": "http", "port": p["servicePort"], "targetPort": "http"}],
        },
    }
    objects = [deployment, service]
    if p["autoscale"]:
        objects.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": metadata,
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": p["name"],
                    },
                    "minReplicas": p["minReplicas"],
                    "maxReplicas": p["maxReplicas"],
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "averageUtilization": p["cpuTarget"],
                                },
                            },
                        }
                    ],
                },
            }
        )
    if "apiKey" in p:
        # The reference, whole, as a value of `stringData`: the one place it may go.
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {**metadata, "name": api_key_secret},
                "type": "Opaque",
                "stringData": {"API_KEY": p["apiKey"]},
            }
        )
    log.log(Level.DEBUG, f"rendering {len(objects)} objects for `{component}`")
    return json.dumps(objects)
