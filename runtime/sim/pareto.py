"""The Pareto view of a simulation: cold starts against wasted memory, one point per policy."""

from __future__ import annotations

from pathlib import Path

from runtime.sim.report import SimulationReport


def pareto_front(report: SimulationReport) -> list[str]:
    """Deployable policies no other beats on both cold starts and wasted memory, by rising memory.

    Policies that see the future (the oracle) are left out: they bound the front, they are not on it."""
    points = {
        name: (r.wasted_memory_mb_minutes, r.cold_starts) for name, r in report.policies.items() if not r.sees_future
    }
    front = [
        name
        for name, (memory, cold) in points.items()
        if not any(m <= memory and c <= cold and (m, c) != (memory, cold) for m, c in points.values())
    ]
    return sorted(front, key=lambda name: points[name])


def plot_pareto(report: SimulationReport, path: str | Path) -> Path:
    """Write a PNG: wasted memory (% of fixed-10) on x, total cold starts on y, the front joined."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers or CI
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    results = report.policies
    labels: dict[tuple[float, int], list[str]] = {}
    for name, result in results.items():
        x, y = result.wasted_memory_vs_fixed10_pct, result.cold_starts
        axes.scatter([x], [y], s=40, marker="*" if result.sees_future else "o")
        labels.setdefault((round(x, 3), y), []).append(name)
    above: list[tuple[float, int]] = []
    for (x, y), names in sorted(labels.items()):  # policies with the same app-level figures share one label
        # A label goes below-left of its point when one near it (in x and on the log scale) is labelled above.
        crowded = any(abs(x - px) < 15 and 0.8 < y / max(py, 1) < 1.25 for px, py in above)
        if not crowded:
            above.append((x, y))
        offset, align = ((4, -14), "right") if crowded else ((6, 4), "left")
        axes.annotate(
            " = ".join(names), (x, y), textcoords="offset points", xytext=offset, fontsize=9, ha=align
        )
    front = pareto_front(report)
    axes.plot(
        [results[n].wasted_memory_vs_fixed10_pct for n in front],
        [results[n].cold_starts for n in front],
        linestyle="--", color="grey", linewidth=1, label="Pareto front",
    )  # fmt: skip
    axes.set_yscale("log")
    axes.set_xlabel("wasted memory time (% of fixed-10)")
    axes.set_ylabel("total cold starts (log)")
    axes.set_title(f"Warming policies on {report.trace} ({report.apps} apps x {report.minutes} min)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper right")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    plt.close(figure)
    return target
