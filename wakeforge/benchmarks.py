"""Per-stage runtime and memory from Snakemake's ``benchmark:`` files.

In: the ``results/benchmarks/`` folder (one TSV per job: ``s``, ``max_rss`` in MB, ``cpu_time``, ...).
Out: one row per rule: jobs, summed job seconds, the longest job, peak memory (MB).
``python -m wakeforge.benchmarks [folder]`` prints the table.

Snakemake's ``cpu_time`` column is left out: Snakemake samples a job's CPU every 0.5 s for its
first 15 s and then only every 30 s, so any job shorter than about 45 s records roughly 15 CPU-s
whatever it used (measured: a fully busy 25 s job recorded 11.5 CPU-s). The TTS jobs log their
own CPU time (``os.times``) instead.
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
        rows.append({"rule": rule, "s": float(last["s"]), "max_rss_mb": float(last["max_rss"])})
    if not rows:
        return pd.DataFrame(columns=["jobs", "job_s_total", "job_s_max", "peak_rss_mb"])
    df = pd.DataFrame(rows)
    return df.groupby("rule").agg(
        jobs=("s", "size"),
        job_s_total=("s", "sum"),
        job_s_max=("s", "max"),
        peak_rss_mb=("max_rss_mb", "max"),
    ).sort_values("job_s_total", ascending=False)


if __name__ == "__main__":
    table = summarize(sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks")
    print(table.round(1).to_string())
