"""What every Redis component exposes, and the Secret that delivers it to the platform namespace."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.data.credentials import REDIS_CA_KEY, SecretDelivery, connection_secret, redis_secret_data
from components.data.spec import RedisSpec


class RedisStore(pulumi.ComponentResource):
    """Connection details: the cluster entry point (host, port), TLS, the Secret's name, the password, the CA."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    tls: bool
    secret_name: str
    password: pulumi.Output[str]
    ca_cert: pulumi.Output[str]
    """PEM of the CA the server's certificate chains to, when clients must be given it (Memorystore); else ''."""
    ca_cert_key: str = REDIS_CA_KEY
    """The Secret key carrying `ca_cert` (present in every Redis Secret, empty when not needed)."""

    def _deliver(
        self,
        name: str,
        spec: RedisSpec,
        delivery: SecretDelivery,
        *,
        host: pulumi.Input[str],
        port: pulumi.Input[int],
        password: pulumi.Output[str],
        tls: bool,
        ca_cert: pulumi.Input[str] = "",
    ) -> k8s.core.v1.Secret:
        """Set the connection outputs and create the credentials Secret; call `_register` after the rest."""
        self.host = pulumi.Output.from_input(host)
        self.port = pulumi.Output.from_input(port).apply(int)
        self.tls = tls
        self.secret_name = spec.secret_name
        self.password = password
        self.ca_cert = pulumi.Output.from_input(ca_cert)
        data = pulumi.Output.all(self.host, self.port, password, self.ca_cert).apply(
            lambda parts: redis_secret_data(parts[0], parts[1], parts[2], tls=tls, ca_cert=parts[3])
        )
        return connection_secret(
            f"{name}-credentials",
            secret_name=spec.secret_name,
            namespace=delivery.namespace,
            data=data,
            secret_type="Opaque",
            provider=delivery.k8s_provider,
            parent=self,
        )

    def _register(self) -> None:
        """Register every public output (the last step of `__init__`)."""
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "tls": self.tls,
                "secret_name": self.secret_name,
                "password": self.password,
                "ca_cert": self.ca_cert,
            }
        )
