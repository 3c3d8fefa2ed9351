"""{{name}}: a Kiln prototype that renders a Deployment. Build it with `./build`, try it with
`kiln prototype preview {{name}}.wasm --image=nginx:1.27 --replicas=2`."""

import json
import sys
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
    ParamValue_Integer,
    ParamValue_String,
    Permissions,
    PrototypeInfo,
    RenderError_Failed,
    RenderError_InvalidParam,
)


class LogStream:
    """Sends what is printed to Kiln's log. The component is built with WASI stubbed out
    (CPython's runtime imports sockets, which Kiln refuses), so the real stdout would trap."""

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


sys.stdout = LogStream(Level.INFO)
sys.stderr = LogStream(Level.WARN)


class WitWorld(wit_world.WitWorld):
    def describe(self) -> PrototypeInfo:
        return PrototypeInfo(
            name="{{name}}",
            description="A Deployment of one container",
            params=[
                ParamSpec("image", ParamType.STRING, "The container image", False,
                          ParamValue_String("nginx:1.27")),
                ParamSpec("replicas", ParamType.INTEGER, "How many pods to run", False,
                          ParamValue_Integer(1)),
            ],
            permissions=Permissions(cluster_scoped=[], rbac=False, other_namespaces=False),
        )

    def generate(self, component: str, params: List[Param], environment: Environment) -> str:
        # Params arrive checked against `describe` and completed with defaults.
        p = {param.name: param.value.value for param in params}
        if not 0 <= p["replicas"] <= 100:
            message = f"{p['replicas']} is not between 0 and 100"
            raise Err(RenderError_InvalidParam(ParamError("replicas", message)))
        try:
            labels = {"app.kubernetes.io/name": component}
            deployment = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": component,
                    "namespace": environment.namespace,
                    "labels": labels,
                },
                "spec": {
                    "replicas": p["replicas"],
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "main", "image": p["image"]}]},
                    },
                },
            }
            return json.dumps([deployment])
        except Exception as e:
            # A bug, not a bad param: say what it was rather than trap.
            raise Err(RenderError_Failed(f"{type(e).__name__}: {e}"))
