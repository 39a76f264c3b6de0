"""Combinations of the ensemble's cheap members other than the default weighted median (issue 11, part 3).

Run: .venv/bin/python benchmarks/forecast_combinations.py [--trace real-500fn-8h] [--holdout-minutes 360] [--hindsight]
Same protocol and reference as `isf forecast-eval` (busy functions; rolling origin over the last 360
minutes; WAPE / naive-last's WAPE, 1 and 5 minutes ahead). The 28 cheap members are replayed once
(`EnsembleForecaster`, `models: false`, horizon 5) from 400 minutes before the holdout (minute 30 on
a short trace), keeping every member's forecast of every minute 1 and 5 minutes ahead, and the
default's; each variant then combines those same forecasts, causally: a forecast made at origin o
(minutes < o observed) uses only scores of minutes < o.

- `replica`: the default's weighted median recomputed here (checks the replay: it must equal `default`);
- `stack`: per function and lead, a convex combination (non-negative weights summing to 1) of the
  default's forecast and the 28 members, fitted by least absolute deviation on the function's last
  240 scored minutes (half-life 120), refitted every 15 minutes: 150 steps of exponentiated
  subgradient descent from weight 0.5 on the default, batched over functions. Used as the forecast,
  or as one more member of the weighted median (`median + stack`);
- `regime`: separate trailing errors (hence weights) per state of the last observed minute, a minute's
  error going to the state its forecast was made in: `regime zero` (last minute 0 or not), `regime
  med15` (last minute above the median of the last 15 or not);
- `5-min by 1-min errors`: the 5-minute forecast weighted by the members' fresher 1-minute errors.

`--hindsight` adds bounds chosen after the fact on the holdout itself: each function's best single
member, its best fixed non-negative combination of the default and the members (a linear program per
function), and the same plus 15 lagged counts and an intercept (free signs). No causal combination of
fixed per-function weights can beat the second; the third is a 45-parameter in-sample fit.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from runtime.predictor.ensemble import EnsembleForecaster, _weighted_median
from runtime.predictor.evaluation import busy_functions
from runtime.settings import EnsembleSettings
from runtime.traces import load_trace

Array = npt.NDArray[np.float64]
LEADS = (1, 5)
HALF_LIFE = EnsembleSettings().half_life_minutes
TEMPERATURE = EnsembleSettings().temperature


def replay(counts: Array, holdout: int) -> tuple[int, dict[int, Array], dict[int, Array]]:
    """First replayed minute, and per lead: every member's (targets x functions x members) and the default's
    (targets x functions) forecast of each minute made `lead` minutes earlier (NaN before the replay)."""
    n, minutes = counts.shape
    start = max(30, minutes - holdout - 4 - 400)
    model = EnsembleForecaster(EnsembleSettings(models=False), horizon=max(LEADS))
    model.fit(counts[:, :start])
    members = {lead: np.full((minutes, n, len(model.member_names)), np.nan, np.float32) for lead in LEADS}
    default = {lead: np.full((minutes, n), np.nan, np.float32) for lead in LEADS}
    for origin in range(start, minutes):
        forecast = model.forecast(max(LEADS))
        for lead in LEADS:
            if origin + lead - 1 < minutes:
                members[lead][origin + lead - 1] = model.member_forecasts[:, :, lead - 1]
                default[lead][origin + lead - 1] = forecast[:, lead - 1]
        model.update(counts[:, origin : origin + 1])
    return (
        start,
        {k: v.astype(np.float64) for k, v in members.items()},
        {k: v.astype(np.float64) for k, v in default.items()},
    )


def _soft_weights(error: Array) -> Array:
    excess = error / (error.min(axis=1, keepdims=True) + 1e-6) - 1.0
    weights = np.exp(-excess / TEMPERATURE)
    return weights / weights.sum(axis=1, keepdims=True)


def _state(counts: Array, origin: int, regime: str | None) -> npt.NDArray[np.int_]:
    """The state (0 or 1) of every function at `origin`, from the minutes before it."""
    last = counts[:, origin - 1]
    if regime is None:
        return np.zeros(counts.shape[0], dtype=np.int_)
    if regime == "zero":
        return (last > 0).astype(np.int_)
    return (last > np.median(counts[:, max(0, origin - 15) : origin], axis=1)).astype(np.int_)


def weighted_median(
    counts: Array,
    forecasts: Array,
    scores: Array,
    lead: int,
    score_lead: int,
    first: int,
    holdout: int,
    regime: str | None = None,
) -> Array:
    """Holdout forecasts (functions x holdout) `lead` minutes ahead: the weighted median of `forecasts[t]`,
    weighed by discounted absolute errors of `scores` (`score_lead` minutes ahead) over minutes < the origin,
    kept per state with `regime` (a state without 3 minutes' evidence uses the errors of all minutes)."""
    n, minutes = counts.shape
    discount = 0.5 ** (1.0 / HALF_LIFE)
    per_state, per_state_count = np.zeros((2, n, scores.shape[2])), np.zeros((2, n))
    overall, overall_count = np.zeros((n, scores.shape[2])), 0.0
    rows, out = np.arange(n), np.empty((n, holdout))
    for scored in range(first, minutes):
        state = _state(counts, scored - score_lead + 1, regime)
        error = np.abs(scores[scored] - counts[:, scored, None])
        overall, overall_count = discount * overall + error, discount * overall_count + 1.0
        for s in (0, 1):
            mine = state == s
            per_state[s, mine] = discount * per_state[s, mine] + error[mine]
            per_state_count[s, mine] = discount * per_state_count[s, mine] + 1.0
        origin = scored + 1  # every minute < origin is scored: forecast origin + lead - 1
        target = origin + lead - 1
        if target < minutes - holdout or target >= minutes:
            continue
        now = _state(counts, origin, regime)
        mean = np.where(
            (per_state_count[now, rows] > 2)[:, None],
            per_state[now, rows] / np.maximum(per_state_count[now, rows], 1e-9)[:, None],
            overall / overall_count,
        )
        out[:, target - (minutes - holdout)] = _weighted_median(
            forecasts[target][:, :, None], _soft_weights(mean)
        )[:, 0]
    return out


def stack(
    counts: Array,
    features: Array,
    lead: int,
    first: int,
    window: int = 240,
    half_life: float = 120.0,
    refit: int = 15,
    steps: int = 150,
) -> Array:
    """Every minute from `first` on (minutes x functions; NaN before): the per-function convex LAD combination
    of `features[t]` (functions x p, the default's forecast first), refitted every `refit` origins on the
    last `window` scored minutes before the origin (those of any minute with features, also before `first`)."""
    n, minutes = counts.shape
    p = features.shape[2]
    prior = np.full(p, 0.5 / (p - 1))
    prior[0] = 0.5
    weights = np.tile(prior, (n, 1))
    out = np.full((minutes, n), np.nan)
    first_origin = first - lead + 1
    for origin in range(first_origin, minutes - lead + 1):
        target = origin + lead - 1
        if (origin - first_origin) % refit == 0:
            low = max(int(np.argmax(~np.isnan(features[:, 0, 0]))), origin - window)
            x = features[low:origin].transpose(1, 0, 2)  # functions x minutes x p, minutes < origin
            y = counts[:, low:origin]
            age = 0.5 ** ((origin - 1 - np.arange(low, origin)) / half_life)
            age /= age.sum()
            scale = np.maximum(np.abs(y).mean(axis=1), 1.0)
            x, y = x / scale[:, None, None], y / scale[:, None]
            w, average = np.tile(prior, (n, 1)), np.zeros((n, p))
            for step in range(steps):
                residual = y - np.einsum("nwp,np->nw", x, w)
                gradient = -np.einsum("nw,nwp->np", age * np.sign(residual), x)
                w = w * np.exp(-0.5 / np.sqrt(step + 1) * np.clip(gradient, -5, 5))
                w /= w.sum(axis=1, keepdims=True)
                if step >= steps // 2:
                    average += w
            weights = average / (steps - steps // 2)
        out[target] = np.maximum(np.einsum("np,np->n", features[target], weights), 0.0)
    return out


def hindsight(
    counts: Array, members: Array, default: Array, lead: int, holdout: int
) -> tuple[float, float, float]:
    """Total absolute error, on the holdout, of each function's best member, best fixed non-negative
    combination of the default and the members, and that plus 15 lags and an intercept, all chosen on it."""
    minutes = counts.shape[1]
    first = minutes - holdout
    x = np.concatenate([default[first:, :, None], members[first:]], axis=2).transpose(1, 0, 2)
    y = counts[:, first:]
    lags = np.stack([counts[:, first - lead - j : minutes - lead - j] for j in range(15)], axis=2)
    single = float(np.abs(x[:, :, 1:] - y[:, :, None]).sum(axis=1).min(axis=1).sum())
    totals, failed = [0.0, 0.0], 0
    for i in range(counts.shape[0]):
        for k, a in enumerate((x[i], np.concatenate([x[i], lags[i], np.ones((holdout, 1))], axis=1))):
            p = a.shape[1]
            bounds = [(0.0, None)] * x.shape[2] + [(None, None)] * (p - x.shape[2]) + [(0.0, None)] * holdout
            result = linprog(
                np.concatenate([np.zeros(p), np.ones(holdout)]),
                A_ub=np.block([[-a, -np.eye(holdout)], [a, -np.eye(holdout)]]),
                b_ub=np.concatenate([-y[i], y[i]]),
                bounds=bounds,
                method="highs",
            )
            # a solver failure counts the best single member's error (no bound claimed below it)
            fallback = float(np.abs(x[i, :, 1:] - y[i, :, None]).sum(axis=0).min())
            totals[k] += float(result.fun) if result.status == 0 else fallback
            failed += result.status != 0
    if failed:
        print(f"  lead {lead}: {failed} linear programs failed; those count their best member")
    return single, totals[0], totals[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trace", default="real-500fn-8h")
    parser.add_argument("--holdout-minutes", type=int, default=360)
    parser.add_argument(
        "--hindsight", action="store_true", help="also print the after-the-fact bounds (slow)"
    )
    args = parser.parse_args()
    holdout = args.holdout_minutes
    counts = load_trace(args.trace).counts.astype(float)
    counts = counts[busy_functions(counts)]
    minutes = counts.shape[1]
    started = time.perf_counter()
    start, members, default = replay(counts, holdout)
    print(
        f"{args.trace}: {counts.shape[0]} busy functions, last {holdout} minutes, replayed from minute {start}"
        f" ({time.perf_counter() - started:.0f} s)"
    )
    actual = counts[:, -holdout:]
    figures: dict[str, list[str]] = {}
    bounds: dict[str, list[str]] = {}  # printed last
    for lead in LEADS:
        naive = float(np.abs(counts[:, minutes - holdout - lead : minutes - lead] - actual).sum())

        def ratio(forecast: Array, _naive: float = naive) -> str:
            return f"{np.abs(forecast - actual).sum() / _naive:.3f}"

        first = start + lead - 1
        stack_from = max(first + 20, minutes - holdout - 60)  # scored from an hour before the holdout
        features = np.concatenate([default[lead][:, :, None], members[lead]], axis=2)
        stacked = stack(counts, features, lead, stack_from)
        with_stack = np.concatenate([members[lead], stacked[:, :, None]], axis=2)
        rows = {
            "default (weighted median, this replay)": default[lead][-holdout:].T,
            "replica (the same, recomputed here)": weighted_median(
                counts, members[lead], members[lead], lead, lead, first, holdout
            ),
            "stack as the forecast": stacked[-holdout:].T,
            "median + stack as a 29th member": weighted_median(
                counts, with_stack, with_stack, lead, lead, stack_from, holdout
            ),
            "regime zero": weighted_median(
                counts, members[lead], members[lead], lead, lead, first, holdout, "zero"
            ),
            "regime med15": weighted_median(
                counts, members[lead], members[lead], lead, lead, first, holdout, "med15"
            ),
        }
        if lead > 1:
            rows["5-min by 1-min errors"] = weighted_median(
                counts, members[lead], members[1], lead, 1, start, holdout
            )
        for label, forecast in rows.items():
            figures.setdefault(label, []).append(ratio(forecast))
        if args.hindsight:
            totals = hindsight(counts, members[lead], default[lead], lead, holdout)
            for label, total in zip(
                (
                    "hindsight: best member",
                    "hindsight: best fixed combination",
                    "hindsight: + 15 lags, intercept",
                ),
                totals,
                strict=True,
            ):
                bounds.setdefault(label, []).append(f"{total / naive:.3f}")
    print(f"{'variant (WAPE / naive-last WAPE)':<42} {'1 min':>6} {'5 min':>6}")
    for label, values in [*figures.items(), *bounds.items()]:
        padded = values if len(values) == len(LEADS) else ["", *values]  # a 5-minute-only row
        print(f"{label:<42} " + " ".join(f"{v:>6}" for v in padded))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
