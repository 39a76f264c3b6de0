"""Importing this puts the repository root on `sys.path`, so a benchmark run as
`.venv/bin/python benchmarks/x.py` can import the test-support package `tests.support`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
