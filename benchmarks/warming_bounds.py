"""What is achievable on a trace: how predictable its long idle gaps are, and fronts to compare against.

    .venv/bin/python benchmarks/warming_bounds.py [--trace sampled-500fn-1day] [--skip-causal]

Prints (1) the headline target's budget in cold starts and memory, (2) how many idle gaps longer
than fixed-10's window a causal policy could know about (length or wall-clock phase seen before in
the same app), (3) the front of the hindsight-best fixed keep-alive chosen per app (it knows each
app's whole day but not when the next invocation comes) and (4) the front of the causal predictive
policy. Memory is wasted MB-minutes relative to fixed-10 (= 100 %), as in docs/architecture.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt

from runtime.settings import CostSettings
from runtime.sim.replay import app_profile, replay, score
from runtime.traces import load_trace
from runtime.warming.baselines import FixedKeepAlive, HybridHistogram
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming

MEMORY_GB_SECOND_USD = CostSettings().memory_gb_second_usd
MB_MINUTE_USD = MEMORY_GB_SECOND_USD * 60 / 1024
FIXED_WINDOW = 10
KEEP_ALIVES = np.arange(0, 1441)
PRICES_MB_MINUTES = (5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000)


def _gaps(invoked_row: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    return np.diff(np.flatnonzero(invoked_row))


def gap_predictability(invoked: npt.NDArray[np.bool_]) -> dict[str, int]:
    """Long gaps (> fixed-10's window), and how many a causal policy has seen evidence for."""
    keys = ("long", "length_seen", "length_seen_1min", "phase60_seen", "length_or_phase")
    tally: dict[str, int] = dict.fromkeys(keys, 0)
    for row in invoked:
        minutes = np.flatnonzero(row)
        seen: set[int] = set()
        for k, gap in enumerate(np.diff(minutes).tolist()):
            if gap > FIXED_WINDOW:
                end = int(minutes[k + 1])
                length = gap in seen
                near = bool(seen & {gap - 1, gap, gap + 1})
                phase = end % 60 in set((minutes[: k + 1] % 60).tolist())
                tally["long"] += 1
                tally["length_seen"] += length
                tally["length_seen_1min"] += near
                tally["phase60_seen"] += phase
                tally["length_or_phase"] += near or phase
            seen.add(gap)
    return tally


def generous_bound(invoked: npt.NDArray[np.bool_], memory: npt.NDArray[np.float64], budget: float) -> int:
    """Fewest cold starts if every long gap with evidence were pre-warmed for free and the rest kept
    alive cheapest first within `budget` MB-minutes (an optimistic bound: evidence has false alarms)."""
    costs: list[float] = []
    first_invocations = 0
    for app, row in enumerate(invoked):
        minutes = np.flatnonzero(row)
        first_invocations += bool(minutes.size)
        seen: set[int] = set()
        for k, gap in enumerate(np.diff(minutes).tolist()):
            phase = int(minutes[k + 1]) % 60 in set((minutes[: k + 1] % 60).tolist())
            evidenced = gap > FIXED_WINDOW and (bool(seen & {gap - 1, gap, gap + 1}) or phase)
            if gap > 1 and not evidenced:
                costs.append((gap - 1) * float(memory[app]))
            seen.add(gap)
    affordable = int((np.cumsum(np.sort(costs)) <= budget).sum())
    return first_invocations + len(costs) - affordable


def cross_app_leaders(
    invoked: npt.NDArray[np.bool_], lag: int, threshold: float
) -> tuple[int, int, int, int]:
    """Can other apps announce a long gap's end? Leaders learnt on the first half, scored on the second.

    App a leads app b when, in the first half of the trace, b fired `lag` minutes after a in at least
    `threshold` of a's active minutes (3 times or more). Returns, for the second half: long-gap ends
    with a leader firing `lag` minutes before, all long-gap ends, and the minutes of a long idle
    spell (> fixed-10's window) in which a leader fired, i.e. the pre-warms such a signal would cost,
    and all minutes of a long idle spell (gap ends / these = the precision of guessing at random).
    """
    fired = invoked.astype(np.float64)
    half = fired.shape[1] // 2
    together = fired[:, : half - lag] @ fired[:, lag:half].T  # [a, b]: a at t and b at t + lag
    share = together / np.maximum(fired[:, : half - lag].sum(axis=1), 1.0)[:, None]
    np.fill_diagonal(share, 0.0)
    leads = ((share >= threshold) & (together >= 3)).astype(np.float64)
    announced = (leads.T @ fired[:, half - lag : -lag]) > 0  # b x minute of the second half
    idle = np.zeros_like(invoked, dtype=np.int64)
    last = np.full(invoked.shape[0], -(10**6))
    for t in range(invoked.shape[1]):
        idle[:, t] = t - last
        last[invoked[:, t]] = t
    long_idle = ((idle > FIXED_WINDOW) & (idle < 10**5))[:, half:]
    gap_ends = long_idle & invoked[:, half:]
    return (
        int((announced & gap_ends).sum()),
        int(gap_ends.sum()),
        int((announced & long_idle).sum()),
        int(long_idle.sum()),
    )


def keep_alive_costs(invoked: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per app and keep-alive k in KEEP_ALIVES: cold starts and wasted minutes of `fixed-k`."""
    apps, minutes = invoked.shape
    cold = np.zeros((apps, KEEP_ALIVES.size), dtype=np.int64)
    wasted = np.zeros((apps, KEEP_ALIVES.size), dtype=np.int64)
    for i, row in enumerate(invoked):
        stamps = np.flatnonzero(row)
        if stamps.size == 0:
            continue
        gaps = np.diff(stamps)[:, None]
        k = KEEP_ALIVES[None, :]
        cold[i] = 1 + (gaps > k).sum(axis=0)  # the first invocation is always cold
        tail = minutes - 1 - stamps[-1]
        wasted[i] = np.minimum(gaps - 1, k).sum(axis=0) + np.minimum(tail, KEEP_ALIVES)
    return cold, wasted


def _p75(cold: npt.NDArray[np.int64], invocations: npt.NDArray[np.int64]) -> float:
    active = invocations > 0
    return float(np.percentile(100 * cold[active] / invocations[active], 75))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--skip-causal", action="store_true", help="skip the (slower) causal replays")
    args = parser.parse_args()

    trace = load_trace(args.trace).by_app()
    counts, profile = trace.counts, app_profile(trace)
    memory = profile.memory_mb
    invoked = counts > 0
    invocations = counts.sum(axis=1)
    fixed10 = score(counts, replay(counts, profile, FixedKeepAlive(FIXED_WINDOW)), memory)
    reference = float(fixed10.wasted_memory_mb_minutes.sum())
    histogram = score(counts, replay(counts, profile, HybridHistogram()), memory)
    active_apps = int((invocations > 0).sum())

    print(f"{args.trace}: {counts.shape[0]} apps x {counts.shape[1]} minutes")
    print("\n1. The headline target's budget")
    budget = int(0.6 * histogram.cold_starts.sum())
    print(f"   hybrid-histogram cold starts {histogram.cold_starts.sum()}; 60 % of it: {budget}")
    print(f"   first invocations (unavoidable for a causal policy): {active_apps}")
    single = int((invoked.sum(axis=1) == 1).sum())
    print(f"   apps with one active minute (100 % cold whatever the policy): {single}")
    print(f"   fixed-10 wastes {reference:,.0f} MB-minutes; fixed-10 cold starts {fixed10.cold_starts.sum()}")

    tally = gap_predictability(invoked)
    print(f"\n2. Idle gaps longer than {FIXED_WINDOW} minutes: {tally['long']}")
    allowed = budget - active_apps
    print(f"   the target allows at most {allowed} of them (and of the short ones) to start cold")
    for key in ("length_seen", "length_seen_1min", "phase60_seen", "length_or_phase"):
        print(f"   {key:<18} {tally[key]:>6}  ({100 * tally[key] / max(tally['long'], 1):.0f} %)")

    print(
        "   cross-app leaders (another app fired just before; learnt on the first half, scored on the second):"
    )
    for lag, threshold in ((1, 0.3), (1, 0.8), (2, 0.3)):
        hits, ends, alarms, idle_minutes = cross_app_leaders(invoked, lag, threshold)
        print(
            f"   lag {lag} min, share >= {threshold}: announces {hits} of {ends} long-gap ends"
            f" ({100 * hits / max(ends, 1):.0f} %), firing in {alarms} long-idle minutes"
            f" (precision {100 * hits / max(alarms, 1):.1f} %; at random {100 * ends / idle_minutes:.1f} %)"
        )

    bound = generous_bound(invoked, memory, reference)
    print("   if every evidenced long gap were pre-warmed for free and other gaps kept alive cheapest")
    print(f"   first within fixed-10's memory: {bound} cold starts (optimistic: ignores false alarms)")

    print("\n3. Hindsight-best fixed keep-alive per app (knows each app's day, not the next invocation)")
    cold, wasted = keep_alive_costs(invoked)
    waste_mb = wasted * memory[:, None]
    print(
        f"   {'price (MB-min per cold start)':<32}{'p75 cold %':>11}{'cold starts':>12}{'waste vs fixed-10':>19}"
    )
    for price in PRICES_MB_MINUTES:
        choice = np.argmin(cold * price + waste_mb, axis=1)
        rows = np.arange(cold.shape[0])
        chosen_cold = cold[rows, choice]
        waste = 100 * waste_mb[rows, choice].sum() / reference
        print(f"   {price:<32}{_p75(chosen_cold, invocations):>11.1f}{chosen_cold.sum():>12d}{waste:>18.1f}%")
    within = np.where(waste_mb.sum(axis=0) <= reference)[0]
    print(
        f"   one keep-alive for all apps within fixed-10's memory: at most {KEEP_ALIVES[within].max()} minutes"
    )

    if args.skip_causal:
        return
    print("\n4. Causal predictive policy (every signal, calibrated online)")
    print(
        f"   {'price (MB-min per cold start)':<32}{'p75 cold %':>11}{'cold starts':>12}{'waste vs fixed-10':>19}{'s':>7}"
    )
    for price in PRICES_MB_MINUTES:
        config = PredictiveConfig(
            cold_start_usd=price * MB_MINUTE_USD, memory_gb_second_usd=MEMORY_GB_SECOND_USD
        )
        started = time.perf_counter()
        ours = score(counts, replay(counts, profile, PredictiveWarming(config)), memory)
        elapsed = time.perf_counter() - started
        waste = 100 * ours.wasted_memory_mb_minutes.sum() / reference
        print(
            f"   {price:<32}{_p75(ours.cold_starts, invocations):>11.1f}{ours.cold_starts.sum():>12d}"
            f"{waste:>18.1f}%{elapsed:>7.1f}"
        )


if __name__ == "__main__":
    main()
