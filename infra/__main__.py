"""The Pulumi program: read and plan the stack config, then stand up the platform."""

from infra.composition import compose, plan_stack
from infra.engine_config import engine_config

compose(plan_stack(engine_config()))
