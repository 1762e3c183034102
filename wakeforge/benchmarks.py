"""Per-stage runtime and memory from Snakemake's ``benchmark:`` files.

In: the ``results/benchmarks/`` folder (one TSV per job: ``s``, ``max_rss`` in MB, ``cpu_time``, ...).
Out: one row per rule: jobs, summed job seconds, the longest job, peak memory (MB).
``python -m wakeforge.benchmarks [folder]`` prints the table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def summarize(folder: str | Path = "results/benchmarks") -> pd.DataFrame:
    """Aggregate every job's benchmark TSV under ``folder`` by rule (the first path part)."""
    folder = Path(folder)
    rows = []
    for tsv in sorted(folder.rglob("*.tsv")):
        rel = tsv.relative_to(folder)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        bench = pd.read_csv(tsv, sep="\t")
        if bench.empty:
            continue
        last = bench.iloc[-1]
        rows.append({"rule": rule, "s": float(last["s"]), "max_rss_mb": float(last["max_rss"]), "cpu_s": float(last["cpu_time"])})
    if not rows:
        return pd.DataFrame(columns=["jobs", "job_s_total", "job_s_max", "cpu_s_total", "peak_rss_mb"])
    df = pd.DataFrame(rows)
    return df.groupby("rule").agg(
        jobs=("s", "size"),
        job_s_total=("s", "sum"),
        job_s_max=("s", "max"),
        cpu_s_total=("cpu_s", "sum"),
        peak_rss_mb=("max_rss_mb", "max"),
    ).sort_values("job_s_total", ascending=False)


if __name__ == "__main__":
    table = summarize(sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks")
    print(table.round(1).to_string())
