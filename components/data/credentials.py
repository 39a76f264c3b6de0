"""Generated passwords and the Kubernetes Secrets that hand connection details to the control plane.

Passwords are alphanumeric: RDS, ElastiCache auth tokens and connection URLs each reject some symbols,
and 40 alphanumerics already carry ~238 bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

PASSWORD_LENGTH = 40


@dataclass(frozen=True)
class SecretDelivery:
    """Where connection Secrets go: the platform namespace, through the cluster's provider."""

    namespace: pulumi.Input[str]
    k8s_provider: k8s.Provider


def generated_password(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A random password (a secret output) owned by `parent`."""
    password = random.RandomPassword(
        name, length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.secret(password.result)


def postgres_secret_data(host: str, port: int, database: str, username: str, password: str) -> dict[str, str]:
    """Keys of the PostgreSQL Secret: the guide's DB_* variables' values plus a URL (basic-auth compatible)."""
    url = f"postgresql://{quote(username)}:{quote(password)}@{host}:{port}/{database}?sslmode=require"
    return {
        "host": host,
        "port": str(port),
        "database": database,
        "username": username,
        "password": password,
        "url": url,
    }


REDIS_CA_KEY = "ca.crt"
"""Key of the Redis Secret holding the PEM of the CA that signs the server's TLS certificate; empty where the
certificate chains to public roots (ElastiCache) or there is no TLS (in-cluster)."""


def redis_secret_data(host: str, port: int, password: str, *, tls: bool, ca_cert: str = "") -> dict[str, str]:
    """Keys of the Redis Secret; `url` names the cluster's entry point (clients discover the other nodes)."""
    scheme = "rediss" if tls else "redis"
    auth = f":{quote(password)}@" if password else ""
    return {
        "host": host,
        "port": str(port),
        "password": password,
        "tls": str(tls).lower(),
        "url": f"{scheme}://{auth}{host}:{port}",
        REDIS_CA_KEY: ca_cert,
    }


def connection_secret(
    resource_name: str,
    *,
    secret_name: str,
    namespace: pulumi.Input[str],
    data: pulumi.Input[dict[str, str]],
    secret_type: str,
    provider: k8s.Provider,
    parent: pulumi.Resource,
) -> k8s.core.v1.Secret:
    """The Secret in the platform namespace that carries a store's connection details."""
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=secret_name,
            namespace=namespace,
            labels={"app.kubernetes.io/part-of": "isf", "app.kubernetes.io/component": "credentials"},
        ),
        type=secret_type,
        string_data=pulumi.Output.secret(data),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
