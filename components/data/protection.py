"""Resources that hold data outlive mistakes: protected and retained on delete where the stack asks for it.

`deletion_protection` (the stores' key, on by default with `high_availability`, so in production) also sets
Pulumi's `protect` (the engine refuses to delete or replace the resource) and `retain_on_delete` (removing it
from the program or destroying the stack leaves the cloud resource in place). Neither reaches a provider,
so renders do not change; `tests/infra/test_upgrade_safety.py` reads them from the mock engine.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.data.spec import PostgresSpec, RedisSpec


def stateful_options(spec: PostgresSpec | RedisSpec, **options: Any) -> pulumi.ResourceOptions:
    """ResourceOptions for the resource that stores the data (`options`: parent, provider, depends_on...)."""
    keep = spec.deletion_protection
    return pulumi.ResourceOptions(protect=keep, retain_on_delete=keep, **options)
