"""``make demo``: load the bundled sample, write a duration-vs-cost plot and a summary."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from orq_nb.sample import load_sample  # noqa: E402


def main(out_dir: str = "demo_output") -> None:
    """Write ``duration_vs_cost.png`` and ``summary_by_project.csv`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    df = load_sample()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(df["duration_ms"] / 1000, df["total_cost"], s=6, alpha=0.4)
    ax.set(xscale="log", yscale="log", xlabel="duration (s)", ylabel="total cost (USD)",
           title=f"Duration vs cost, {len(df):,} sample sessions")
    fig.tight_layout()
    fig.savefig(out / "duration_vs_cost.png", dpi=110)
    summary = df.groupby("project_id", dropna=False).agg(
        sessions=("id", "size"),
        total_cost=("total_cost", "sum"),
        median_duration_s=("duration_ms", lambda s: s.median() / 1000),
        tokens=("total_tokens", "sum"),
    ).sort_values("total_cost", ascending=False)
    summary.to_csv(out / "summary_by_project.csv")
    print(summary.round(3).to_string())
    print(f"\nwrote {out / 'duration_vs_cost.png'} and {out / 'summary_by_project.csv'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
