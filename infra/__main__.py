"""The Pulumi program: read the stack config, then stand up the platform."""

from infra.composition import compose
from infra.config_loader import load_stack_config

compose(load_stack_config())
