"""Data store guarantees: PostgreSQL encrypted and private, protected when HA; Redis over TLS with auth."""

from __future__ import annotations

from policy.rule import Props, Rule, items, lookup

RDS_INSTANCE = "aws:rds/instance:Instance"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MEMORYSTORE_CLUSTER = "gcp:redis/cluster:Cluster"
MEMORYSTORE_INSTANCE = "gcp:redis/instance:Instance"
_CLOUD_SQL_TLS_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
_MEMORYSTORE_TLS = "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"
_MEMORYSTORE_INSTANCE_TLS = "SERVER_AUTHENTICATION"


def rds_is_encrypted_private_and_protected(resource_type: str, props: Props) -> list[str]:
    """Storage encrypted, no public address, deletion protection on a multi-AZ (HA) instance."""
    problems: list[str] = []
    if lookup(props, "storageEncrypted") is not True:
        problems.append("storage is not encrypted (storageEncrypted: true)")
    if lookup(props, "publiclyAccessible") is True:
        problems.append("the instance is publicly accessible")
    if lookup(props, "multiAz") is True and lookup(props, "deletionProtection") is not True:
        problems.append("a multi-AZ (HA) instance must have deletionProtection: true")
    return problems


def cloud_sql_is_encrypted_private_and_protected(resource_type: str, props: Props) -> list[str]:
    """Private IP only, TLS required, deletion protection on a REGIONAL (HA) instance (storage is always encrypted)."""
    problems: list[str] = []
    ip = lookup(props, "settings", "ipConfiguration")
    if lookup(ip, "ipv4Enabled") is not False:
        problems.append("the instance has a public IPv4 address (ipConfiguration.ipv4Enabled: false)")
    if not lookup(ip, "privateNetwork"):
        problems.append("the instance is not on a private network (ipConfiguration.privateNetwork)")
    if lookup(ip, "sslMode") not in _CLOUD_SQL_TLS_MODES and lookup(ip, "requireSsl") is not True:
        problems.append(f"connections are not required to use TLS (sslMode one of {list(_CLOUD_SQL_TLS_MODES)})")
    if lookup(props, "settings", "availabilityType") == "REGIONAL" and lookup(props, "deletionProtection") is not True:
        problems.append("a REGIONAL (HA) instance must have deletionProtection: true")
    return problems


def elasticache_uses_tls_and_auth(resource_type: str, props: Props) -> list[str]:
    """TLS in transit, encryption at rest, and an AUTH token or RBAC user group."""
    problems: list[str] = []
    if lookup(props, "transitEncryptionEnabled") is not True:
        problems.append("TLS in transit is off (transitEncryptionEnabled: true)")
    if lookup(props, "atRestEncryptionEnabled") is not True:
        problems.append("encryption at rest is off (atRestEncryptionEnabled: true)")
    if not lookup(props, "authToken") and not items(lookup(props, "userGroupIds")):
        problems.append("clients need no credentials (set authToken or userGroupIds)")
    return problems


def memorystore_uses_tls(resource_type: str, props: Props) -> list[str]:
    """Server-authenticated TLS; a basic instance also needs AUTH (a cluster allows only IAM auth, on the VPC)."""
    if resource_type == MEMORYSTORE_CLUSTER:
        mode = lookup(props, "transitEncryptionMode")
        return [] if mode == _MEMORYSTORE_TLS else [f"TLS in transit is off (transitEncryptionMode: {_MEMORYSTORE_TLS})"]
    problems: list[str] = []
    if lookup(props, "transitEncryptionMode") != _MEMORYSTORE_INSTANCE_TLS:
        problems.append(f"TLS in transit is off (transitEncryptionMode: {_MEMORYSTORE_INSTANCE_TLS})")
    if lookup(props, "authEnabled") is not True:
        problems.append("clients need no credentials (authEnabled: true)")
    return problems


RULES = (
    Rule(
        "postgres-rds-encrypted-private-protected",
        "RDS PostgreSQL is encrypted, not publicly accessible, and deletion-protected when multi-AZ.",
        frozenset({RDS_INSTANCE}),
        rds_is_encrypted_private_and_protected,
    ),
    Rule(
        "postgres-cloud-sql-private-tls-protected",
        "Cloud SQL PostgreSQL has only a private IP, requires TLS, and is deletion-protected when REGIONAL.",
        frozenset({CLOUD_SQL}),
        cloud_sql_is_encrypted_private_and_protected,
    ),
    Rule(
        "redis-elasticache-tls-and-auth",
        "ElastiCache Redis encrypts in transit and at rest and requires an AUTH token.",
        frozenset({ELASTICACHE}),
        elasticache_uses_tls_and_auth,
    ),
    Rule(
        "redis-memorystore-tls",
        "Memorystore Redis requires TLS in transit (and AUTH on basic instances).",
        frozenset({MEMORYSTORE_CLUSTER, MEMORYSTORE_INSTANCE}),
        memorystore_uses_tls,
    ),
)
