"""What warming reads every pass as the forecasts table grows: `latest_forecasts` at 500 functions.

Run: `.venv/bin/python benchmarks/store_reads_bench.py [--functions 500] [--windows 60,300,900] [--repeats 5]`
Uses DATABASE_URL's server (default the local PostgreSQL) with a scratch database it drops afterwards. The
predictor stores a forecast per function and refreshed minute, so a day of 500 functions holds up to
720,000 rows; `latest_forecasts` must stay flat in that size (one index probe per function,
runtime/store/forecasts.py). Also times the retention prune of the oldest windows (runtime/store/retention.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

import repo_root  # noqa: F401  (before tests.support: puts the repository root on sys.path)

from runtime.settings import RetentionSettings
from runtime.store import InvocationRecord, open_engine, record_invocations, upgrade
from runtime.store.forecasts import Forecast, latest_forecasts, record_forecasts
from runtime.store.retention import prune
from tests.support.scratch_database import create_scratch_database, drop_scratch_database

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--windows", default="60,300,900", help="stored windows per function at each measurement")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(int(w) for w in args.windows.split(","))
    url = create_scratch_database(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                                  "isf_store_reads_bench")
    try:
        engine = open_engine(url)
        upgrade(engine)
        functions = [f"fn-{i:05d}" for i in range(args.functions)]
        stored = 0
        for size in sizes:
            for window in range(stored, size):
                start = T0 + timedelta(minutes=window)
                record_forecasts(engine, [Forecast(f, start, "bench:1", [1.0] * 15, expected=[1.0] * 15)
                                          for f in functions])
            stored = size
            timings, latest = [], []
            for _ in range(args.repeats):
                began = time.perf_counter()
                latest = latest_forecasts(engine)
                timings.append(time.perf_counter() - began)
            assert len(latest) == args.functions
            print(f"{size * args.functions:>9,} forecasts stored: latest_forecasts median "
                  f"{1000 * statistics.median(timings):.1f} ms (min {1000 * min(timings):.1f}, {args.repeats} runs)")
        # The prune counts back from the newest invocation: at the last window nothing is due ...
        record_invocations(engine, "bench", [InvocationRecord(f, T0 + timedelta(minutes=stored - 1), 1)
                                             for f in functions])
        began = time.perf_counter()
        assert prune(engine, RetentionSettings(forecasts_days=1)).forecasts == 0
        print(f"a prune with nothing due: {1000 * (time.perf_counter() - began):.1f} ms")
        # ... and one a day after the middle window deletes half.
        newest = T0 + timedelta(days=1, minutes=stored // 2)
        record_invocations(engine, "bench", [InvocationRecord(f, newest, 1) for f in functions])
        began = time.perf_counter()
        pruned = prune(engine, RetentionSettings(forecasts_days=1))
        print(f"prune of the older half ({pruned.forecasts:,} forecasts, one transaction per function): "
              f"{time.perf_counter() - began:.2f} s")
        began = time.perf_counter()
        prune(engine, RetentionSettings(forecasts_days=1))
        print(f"the same prune again, nothing left to delete (the deleted rows' index entries not vacuumed yet): "
              f"{1000 * (time.perf_counter() - began):.1f} ms")
        print(f"load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
        engine.dispose()
    finally:
        drop_scratch_database(url)


if __name__ == "__main__":
    main()
