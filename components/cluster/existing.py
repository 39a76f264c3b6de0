"""A cluster you already run: a Kubernetes provider from a kubeconfig (path or contents) and a context.

Node pools are not managed here; label the nodes `tier=<edge|regional|cloud>` yourself (and taint GPU
nodes `nvidia.com/gpu=present:NoSchedule`) as the deployment guide does, and the scheduling helpers work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict, Field

from components.input_errors import InputProblems


class ExistingClusterArgs(BaseModel):
    """Where the kubeconfig is and which of its contexts to use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kubeconfig: str | None = Field(
        default=None,
        description="a kubeconfig file path or its YAML contents; empty = $KUBECONFIG or ~/.kube/config",
    )
    context: str | None = Field(
        default=None, description="context name; empty = the kubeconfig's current-context"
    )


class KubeconfigError(ValueError):
    """The configured kubeconfig or context cannot be used; `key` names the field to change."""

    def __init__(self, message: str, key: str = "kubeconfig") -> None:
        super().__init__(message)
        self.key = key


def _looks_like_contents(value: str) -> bool:
    return "\n" in value or value.lstrip().startswith(("{", "apiVersion"))


def load_kubeconfig(args: ExistingClusterArgs, environ: dict[str, str] | None = None) -> str:
    """The kubeconfig text `args` points at; fails naming the file or context that is missing."""
    env = dict(os.environ if environ is None else environ)
    if args.kubeconfig and _looks_like_contents(args.kubeconfig):
        text, source = args.kubeconfig, "the kubeconfig contents"
    else:
        default = env.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config"
        path = Path(args.kubeconfig or default).expanduser()
        if not path.is_file():
            raise KubeconfigError(
                f"kubeconfig file {path} does not exist; set kubeconfig to a file path or the file's contents"
            )
        text, source = path.read_text(), str(path)
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        # Only the position: the parser's snippet of the offending line could carry a token.
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise KubeconfigError(f"{source} is not valid YAML{where}") from None
    if not isinstance(document, dict) or not isinstance(document.get("contexts"), list):
        raise KubeconfigError(f"{source} is not a kubeconfig (no 'contexts' list)")
    contexts = [c.get("name") for c in document["contexts"] if isinstance(c, dict)]
    wanted = args.context or document.get("current-context")
    if not wanted:
        raise KubeconfigError(f"{source} has no current-context; set context to one of {contexts}", "context")
    if wanted not in contexts:
        raise KubeconfigError(f"context {wanted!r} is not in {source}; choose one of {contexts}", "context")
    return text


class ExistingCluster(pulumi.ComponentResource):
    """Wraps an existing cluster's kubeconfig into the platform's Kubernetes provider."""

    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    context: str | None

    def __init__(
        self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:cluster:ExistingCluster", name, None, opts)
        problems = InputProblems("ExistingCluster")
        text = ""
        try:
            text = load_kubeconfig(args)
        except KubeconfigError as error:
            problems.add(error.key, str(error))
        problems.raise_if_any()
        self.kubeconfig = pulumi.Output.secret(text)
        self.context = args.context
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            context=args.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"kubeconfig": self.kubeconfig, "context": self.context})
