"""Entry point of the CrossGuard pack: `pulumi preview --policy-pack policy`."""

import sys
from pathlib import Path

# The policy runtime starts this file from inside policy/; the rules import as the `policy` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.pack import serve

serve()
