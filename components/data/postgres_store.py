"""What every PostgreSQL component exposes, and the Secret that delivers it to the platform namespace."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.data.credentials import SecretDelivery, connection_secret, postgres_secret_data
from components.data.spec import PostgresSpec


class PostgresStore(pulumi.ComponentResource):
    """Connection details: host, port, database, username, the Secret's name, and the password (secret)."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database: str
    username: str
    secret_name: str
    password: pulumi.Output[str]

    def _deliver(
        self,
        name: str,
        spec: PostgresSpec,
        delivery: SecretDelivery,
        *,
        host: pulumi.Input[str],
        port: pulumi.Input[int],
        password: pulumi.Output[str],
    ) -> k8s.core.v1.Secret:
        """Set the connection outputs and create the credentials Secret; call `_register` after the rest."""
        self.host = pulumi.Output.from_input(host)
        self.port = pulumi.Output.from_input(port).apply(int)
        self.database = spec.database
        self.username = spec.username
        self.secret_name = spec.secret_name
        self.password = password
        data = pulumi.Output.all(self.host, self.port, password).apply(
            lambda parts: postgres_secret_data(parts[0], parts[1], spec.database, spec.username, parts[2])
        )
        return connection_secret(
            f"{name}-credentials",
            secret_name=spec.secret_name,
            namespace=delivery.namespace,
            data=data,
            secret_type="kubernetes.io/basic-auth",
            provider=delivery.k8s_provider,
            parent=self,
        )

    def _register(self) -> None:
        """Register every public output (the last step of `__init__`)."""
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "database": self.database,
                "username": self.username,
                "secret_name": self.secret_name,
                "password": self.password,
            }
        )
