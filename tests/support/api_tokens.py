"""An all-scope API token for tests that exercise the API's behaviour rather than its authentication."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

TEST_TOKEN = "isf-test-token-not-a-secret-0123456789"
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@cache
def local_token_file() -> Path:
    """A token file (the local mode's format) holding TEST_TOKEN, for ServiceSettings.local_token_file."""
    path = Path(tempfile.mkdtemp(prefix="isf-token-")) / "token"
    path.write_text(TEST_TOKEN + "\n")
    path.chmod(0o600)
    return path
