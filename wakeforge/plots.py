"""Figures for the report: DET curve, score histograms, training curves, per-stage runtime.

In: the DET curves of calibration (validation data) and evaluation (test data) as tables, the
held-out test scores, the calibration sidecar and ``metrics.json``, the training history, and
Snakemake's ``benchmark:`` TSVs. Out: PNG files (matplotlib, Agg backend: no display needed).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .audio import atomic_path  # noqa: E402

COLOURS = {"positive": "tab:green", "adversarial": "tab:orange", "general": "tab:blue", "validation": "tab:purple", "test": "tab:red"}


def _save(fig: Figure, path: str | os.PathLike) -> None:
    fig.tight_layout()
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)


def det_plot(
    path: str | os.PathLike,
    curves: dict[str, pd.DataFrame],
    hours: dict[str, float],
    fp_target: float | None = None,
    points: list[tuple[str, float, float]] = (),
) -> None:
    """Miss rate against false accepts per hour (symmetric log x: 0 stays visible).

    Args:
        curves: label -> :meth:`wakeforge.calibrate.DetCurve.to_frame` tables (``miss_rate`` and
            ``worst_false_accepts_per_hour``, else ``false_accepts_per_hour``; one row per threshold).
        hours: label -> stream hours of that curve (the false-accept resolution is 1 / hours).
        fp_target: drawn as a vertical line.
        points: (label, false accepts per hour, miss rate) operating points to mark.
    """
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    for label, df in curves.items():
        fa = df["worst_false_accepts_per_hour" if "worst_false_accepts_per_hour" in df else "false_accepts_per_hour"].to_numpy(float)
        ax.plot(fa, df["miss_rate"].to_numpy(float), label=f"{label} ({hours.get(label, float('nan')):.2g} h)", color=COLOURS.get(label))
    markers = iter("oDs^v")
    for label, fa, miss in points:
        ax.plot([fa], [miss], linestyle="none", marker=next(markers, "o"), markersize=7, label=label)
    if fp_target is not None:
        ax.axvline(fp_target, color="grey", linestyle="--", linewidth=1, label=f"target {fp_target:g} / h")
    # linear from 0 up to the power of ten below one false accept per (longest) stream
    resolution = min((1.0 / h for h in hours.values() if h and h > 0), default=0.1)
    linthresh = float(10.0 ** np.floor(np.log10(resolution)))
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    ax.set_xlim(left=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"false accepts per hour (log scale above {linthresh:g}, linear below)")
    ax.set_ylabel("miss rate")
    ax.set_title("DET curve")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    _save(fig, path)


def score_histograms(path: str | os.PathLike, scores: dict[str, np.ndarray], thresholds: dict[str, float] | None = None) -> None:
    """Per-set histograms of clip scores (fraction of each set per bin, log y) with threshold lines."""
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    bins = np.linspace(0.0, 1.0, 51)
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        if len(s) == 0:
            continue
        ax.hist(np.clip(s, 0, 1), bins=bins, weights=np.full(len(s), 1.0 / len(s)), histtype="step", linewidth=1.5, color=COLOURS.get(name), label=f"{name} (n={len(s)})")
    for (label, thr), style in zip((thresholds or {}).items(), ("-", ":", "--")):
        ax.axvline(thr, color="black", linestyle=style, linewidth=1, label=f"{label} {thr:.3g}")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("score")
    ax.set_ylabel("fraction of clips")
    ax.set_title("Scores of held-out test clips")
    ax.legend(fontsize=8, loc="upper center")
    _save(fig, path)


def training_curves(
    path: str | os.PathLike, history: pd.DataFrame, best_step: int | list[int] | None = None, fp_target: float | None = None
) -> None:
    """Loss, validation recall / adversarial accuracy and validation false accepts per hour by step
    (one line per ensemble member)."""
    fig = Figure(figsize=(6.5, 7))
    axes = fig.subplots(3, 1, sharex=True)
    # an ensemble's members (column "member") each get their own line, labelled once
    groups = [g for _, g in history.groupby("member")] if "member" in history else [history]
    for i, run in enumerate(groups):
        step, labelled = run["step"], i == 0
        axes[0].plot(step, run["loss"], color="black", alpha=1.0 if labelled else 0.5)
        # train_recall (dashed): recall on training positives; far above val_recall = memorised clips
        for column, colour, style in (
            ("val_recall", COLOURS["positive"], "-"),
            ("train_recall", COLOURS["positive"], "--"),
            ("val_adversarial_accuracy", COLOURS["adversarial"], "-"),
        ):
            if column in run:
                axes[1].plot(step, run[column], marker=".", linestyle=style, color=colour, label=column if labelled else None)
        for j, column in enumerate(c for c in run.columns if c.startswith("val_fp_per_hour")):
            axes[2].plot(step, run[column], marker=".", color=f"C{j}", label=column if labelled else None)
    axes[0].set_ylabel("training loss")
    if (history["loss"] > 0).all():
        axes[0].set_yscale("log")
    axes[1].set_ylabel("validation")
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].legend(fontsize=8)
    if fp_target is not None:
        axes[2].axhline(fp_target, color="grey", linestyle="--", linewidth=1, label=f"target {fp_target:g} / h")
    axes[2].set_ylabel("false accepts / h")
    axes[2].set_xlabel("step")
    axes[2].legend(fontsize=8)
    chosen = [] if best_step is None else sorted(set(best_step if isinstance(best_step, list) else [best_step]))
    for ax in axes:
        ax.grid(True, alpha=0.3)
        for step in chosen:
            ax.axvline(step, color="tab:red", linestyle=":", linewidth=1)
    if chosen:  # an ensemble: each member's chosen step
        steps = best_step if isinstance(best_step, list) else chosen
        axes[0].set_title(f"Training (chosen checkpoint{'s' if len(steps) > 1 else ''}: step{'s' if len(steps) > 1 else ''} {', '.join(map(str, steps))}, dotted)")
    else:
        axes[0].set_title("Training")
    _save(fig, path)


def benchmark_files(folder: str | os.PathLike, model: str | None = None, model_rules: set[str] | frozenset = frozenset()) -> list[Path]:
    """Benchmark TSVs under ``folder``: every phrase-independent rule's, and of the ``model_rules``
    (rules with a ``{model}`` wildcard: ``<rule>/<model>.tsv`` or ``<rule>/<model>/...``) only
    those of ``model``."""
    folder = Path(folder)
    files = []
    for tsv in sorted(folder.rglob("*.tsv")):
        parts = tsv.relative_to(folder).parts
        rule = parts[0] if len(parts) > 1 else Path(parts[0]).stem
        if model is not None and rule in model_rules and (len(parts) < 2 or Path(parts[1]).stem != model):
            continue
        files.append(tsv)
    return files


def runtime_table(folder: str | os.PathLike, model: str | None = None, model_rules: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """Per rule: jobs, summed job seconds and peak memory (MB), like :func:`wakeforge.benchmarks.summarize`
    but only over :func:`benchmark_files` (the files that exist now)."""
    folder = Path(folder)
    rows = []
    for tsv in benchmark_files(folder, model, model_rules):
        parts = tsv.relative_to(folder).parts
        bench = pd.read_csv(tsv, sep="\t")
        if bench.empty:
            continue
        last = bench.iloc[-1]
        rows.append({"rule": parts[0] if len(parts) > 1 else tsv.stem, "s": float(last["s"]), "max_rss_mb": float(last["max_rss"])})
    if not rows:
        return pd.DataFrame(columns=["jobs", "job_s_total", "job_s_max", "peak_rss_mb"])
    return (
        pd.DataFrame(rows)
        .groupby("rule")
        .agg(jobs=("s", "size"), job_s_total=("s", "sum"), job_s_max=("s", "max"), peak_rss_mb=("max_rss_mb", "max"))
        .sort_values("job_s_total", ascending=False)
    )


def stage_runtimes(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Horizontal bars of summed job seconds per rule, labelled with job count and peak memory."""
    table = table.sort_values("job_s_total")
    fig = Figure(figsize=(7, max(2.5, 0.35 * len(table) + 1.2)))
    ax = fig.add_subplot()
    if table.empty:
        ax.text(0.5, 0.5, "no benchmark files yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        y = np.arange(len(table))
        ax.barh(y, table["job_s_total"], color="tab:blue")
        ax.set_yticks(y, table.index, fontsize=8)
        peak = table["peak_rss_mb"].fillna(0) if "peak_rss_mb" in table else pd.Series(0, index=table.index)
        for k, (jobs, secs, rss) in enumerate(zip(table["jobs"], table["job_s_total"], peak)):
            ax.text(secs, k, f" {secs:.1f} s, {int(jobs)} job{'s' if jobs != 1 else ''}, {rss:.0f} MB", va="center", fontsize=7)
        ax.set_xlim(0, table["job_s_total"].max() * 1.6 or 1)
        ax.set_xlabel("wall seconds, summed over jobs")
    ax.set_title("Runtime per stage")
    _save(fig, path)
