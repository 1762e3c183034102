"""Training: embedding features -> a wake word model checkpoint and its training history.

In: ``(N, 16, 96)`` features of augmented positives, adversarial negatives and general negative
speech (with each row's source-clip index), the streaming embeddings of hours of negative audio
(every 16-frame window of it is a training negative, as openWakeWord trains on hours of negative
features), and the streaming embeddings of a separate negative validation stream. In the full
tier also openWakeWord's precomputed ACAV100M negative windows (memory-mapped; a device-resident
random pool of them is redrawn every few hundred steps) and its false-positive validation stream.
Out: the checkpoint of the best evaluation step and one history row per evaluation.

All data lives on the training device for the whole run (CUDA when present, else the CPU): each
step draws a balanced batch by index on the device, so no step copies data from the host (only
the precomputed pool's redraws do).
A slice of the positive and adversarial *source clips* (all augmented copies of a clip together)
is held out for checkpoint selection, and so is the first third of each stream; calibration uses
the second third, and the final metrics (evaluate.py) use other clips and the last third, so
selection never sees the calibration or the reported data.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import metrics
from .errors import WakeforgeError
from .model import N_FRAMES, build_model
from .seeding import child_seed, stable_key

log = logging.getLogger(__name__)

CLASSES = ("positive", "adversarial", "general", "stream")
DEFAULT_FRACTIONS = {"positive": 0.25, "adversarial": 0.1, "general": 0.3, "stream": 0.35, "precomputed": 0.3}


@dataclass
class TrainData:
    """Feature arrays for training; ``*_source`` give the source clip of each augmented row."""

    positive: np.ndarray
    positive_source: np.ndarray
    adversarial: np.ndarray
    adversarial_source: np.ndarray
    general: np.ndarray
    negative_stream: np.ndarray  # (n_chunks, 96) streaming embeddings of the training negative stream
    stream: np.ndarray  # (n_chunks, 96) streaming embeddings of the negative validation stream
    # Full tier: openWakeWord's precomputed (n, 16, 96) negative windows (memory-mapped, never loaded
    # whole) and its false-positive validation stream, (n_frames, 96).
    precomputed: np.ndarray | None = None
    fp_validation: np.ndarray | None = None

    def validation_streams(self) -> dict[str, np.ndarray]:
        """The negative validation streams by name (each in thirds: selection, calibration, report)."""
        streams = {"wakeforge": self.stream}
        if self.fp_validation is not None:
            streams["openwakeword"] = self.fp_validation
        return streams


class PrecomputedPool:
    """A device-resident random subset of a memory-mapped ``(n, 16, 96)`` feature array, redrawn
    every ``refresh`` steps: training reads 17 GB of features without loading them whole, and a
    step never copies from the host (only a redraw does). A redraw reads random blocks of
    :attr:`BLOCK` consecutive windows in file order, so it costs few seeks even on a disk."""

    BLOCK = 64  # rows read together: about 2,000 seeks for a 100k-window pool, not 100k (disks)

    def __init__(self, features: np.ndarray, size: int, refresh: int, seed: int, device: torch.device):
        self.features, self.refresh, self.device = features, max(1, int(refresh)), device
        self.size = min(int(size), len(features))
        self.rng = np.random.default_rng(child_seed(seed, "train", "precomputed"))
        self.tensor = self._draw()

    def _draw(self) -> torch.Tensor:
        n_blocks = len(self.features) // self.BLOCK
        if self.size == len(self.features) or n_blocks * self.BLOCK < self.size:
            rows = np.sort(self.rng.choice(len(self.features), size=self.size, replace=False))
            return torch.as_tensor(np.asarray(self.features[rows], dtype=np.float32), device=self.device)
        starts = np.sort(self.rng.choice(n_blocks, size=-(-self.size // self.BLOCK), replace=False)) * self.BLOCK
        parts = [np.asarray(self.features[s : s + self.BLOCK], dtype=np.float32) for s in starts]
        return torch.as_tensor(np.concatenate(parts)[: self.size], device=self.device)

    def at_step(self, step: int) -> torch.Tensor:
        """The pool for ``step``; :attr:`fresh` says whether it was just redrawn."""
        self.fresh = step > 1 and (step - 1) % self.refresh == 0
        if self.fresh:
            self.tensor = self._draw()
        return self.tensor


@dataclass
class ValidationSets:
    """Checkpoint-selection data on the training device: held-out positive and adversarial rows
    and the first third (windows) of each validation stream."""

    positive: torch.Tensor
    adversarial: torch.Tensor
    streams: dict[str, torch.Tensor]
    train_positive: torch.Tensor

    @classmethod
    def build(cls, data: TrainData, pos_val: np.ndarray, adv_val: np.ndarray, on_device, seed: int = 0) -> "ValidationSets":
        streams = {name: stream_windows(on_device(metrics.split_stream(s)[0])) for name, s in data.validation_streams().items()}
        # as many training positives as held-out ones (a fixed draw): their recall beside the
        # held-out recall shows how far the model has memorised its training clips
        train_rows = np.flatnonzero(~pos_val)
        rng = np.random.default_rng(child_seed(seed, "train", "recall_rows"))
        train_rows = np.sort(rng.choice(train_rows, size=min(len(train_rows), int(pos_val.sum())), replace=False))
        return cls(on_device(data.positive[pos_val]), on_device(data.adversarial[adv_val]), streams, on_device(data.positive[train_rows]))

    def row(self, model: nn.Module, step: int, threshold: float, fp_target: float, refractory_s: float) -> dict:
        """One history row: validation recall (and recall on as many training positives), adversarial
        accuracy, false accepts per hour, calibrated operating point."""
        pos_scores = predict(model, self.positive)
        stream_scores = {name: predict(model, x) for name, x in self.streams.items()}
        return {
            "step": step,
            "val_recall": metrics.recall(pos_scores, threshold),
            "train_recall": metrics.recall(predict(model, self.train_positive), threshold),
            "val_adversarial_accuracy": 1.0 - metrics.false_positive_rate(predict(model, self.adversarial), threshold),
            **stream_rows(stream_scores, threshold, refractory_s),
            **operating_point_at_target(pos_scores, list(stream_scores.values()), fp_target, refractory_s),
        }


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise WakeforgeError("config key train.device is 'cuda' but no CUDA device is available; use 'auto'")
    return torch.device(requested)


def holdout_mask(source: np.ndarray, fraction: float, seed: int, name: str) -> np.ndarray:
    """True for rows whose source clip is held out (a deterministic ``fraction`` of source clips)."""
    buckets = np.array([stable_key(seed, name, int(s)) % 10_000 for s in source])
    return buckets < int(round(fraction * 10_000))


def validation_masks(data: TrainData, train_cfg: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The positive and adversarial rows held out for checkpoint selection (``train.val_fraction`` of source clips)."""
    val_fraction = train_cfg.get("val_fraction", 0.1)
    return (
        holdout_mask(data.positive_source, val_fraction, seed, "positive"),
        holdout_mask(data.adversarial_source, val_fraction, seed, "adversarial"),
    )


def to_device(a: np.ndarray, device: torch.device) -> torch.Tensor:
    """A float32 tensor on ``device``."""
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=device)


def stream_windows(stream: torch.Tensor, n_frames: int = N_FRAMES) -> torch.Tensor:
    """Sliding windows (a view) over stream embeddings: window i ends at chunk i + n_frames - 1."""
    if stream.shape[0] < n_frames:
        return stream.new_zeros((0, n_frames, stream.shape[1]))
    return stream.unfold(0, n_frames, 1).permute(0, 2, 1)


@torch.no_grad()
def scores_on_device(model: nn.Module, x: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """Scores (eval mode, in batches) for a stack of ``(n, 16, 96)`` windows, left on ``x``'s device."""
    was_training = model.training
    model.eval()
    out = [model(x[i : i + batch_size]).squeeze(-1) for i in range(0, x.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else x.new_zeros(0)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 8192) -> np.ndarray:
    """Scores for a stack of ``(n, 16, 96)`` feature windows, in batches, as a numpy array."""
    return scores_on_device(model, x, batch_size).float().cpu().numpy()


def stream_rows(scores: dict[str, np.ndarray], threshold: float, refractory_s: float) -> dict[str, float]:
    """``val_fp_per_hour`` over all validation streams together, plus one column per extra stream."""
    row = {"val_fp_per_hour": metrics.pooled_false_accepts_per_hour(list(scores.values()), threshold, refractory_s)}
    for name, s in scores.items():
        if name != "wakeforge":
            row[f"val_fp_per_hour_{name}"] = metrics.false_accepts_per_hour(s, threshold, refractory_s)
    return row


def select_key(row: dict, fp_target: float) -> tuple:
    """Ordering of evaluation rows.

    With ``val_recall_at_target`` (the validation recall at the threshold that calibration would
    choose, see :func:`operating_point_at_target`): a checkpoint that can meet the false-accept
    target first, then that recall, i.e. the checkpoint whose *calibrated* model is best. Without
    it: meeting the target at the fixed threshold first, then recall, then fewer false accepts.
    """
    if "val_recall_at_target" in row:
        meets = bool(row["val_meets_target"])
        return (meets, row["val_recall_at_target"] if meets else -row["val_fp_per_hour"], row["val_recall"], -row["val_fp_per_hour"])
    feasible = row["val_fp_per_hour"] <= fp_target
    return (feasible, row["val_recall"] if feasible else -row["val_fp_per_hour"], row["val_recall"], -row["val_fp_per_hour"])


def operating_point_at_target(positive_scores: np.ndarray, stream_scores: list[np.ndarray], fp_target: float, refractory_s: float) -> dict:
    """The calibrated operating point on validation data: threshold, recall and whether the target is met."""
    from .calibrate import choose_threshold, det_curve  # calibrate imports this module

    chosen = choose_threshold(det_curve(positive_scores, stream_scores, refractory_s), fp_target)
    return {"val_threshold_at_target": chosen["threshold"], "val_recall_at_target": chosen["recall"], "val_meets_target": float(chosen["meets_target"])}


def train(
    data: TrainData,
    model_cfg: dict,
    train_cfg: dict,
    threshold: float,
    fp_target: float,
    seed: int,
    refractory_s: float = 1.0,
    threads: int = 1,
    progress: bool = False,
    member: int = 0,
) -> tuple[dict, list[dict]]:
    """Train and return (checkpoint dict of the best evaluation step, history rows). ``member``: an
    ensemble member's index, which seeds its weights and batches (member 0: as a single model);
    the validation split is the same for every member."""
    from tqdm import tqdm

    torch.set_num_threads(max(1, threads))
    member_key = (member,) if member else ()
    torch.manual_seed(child_seed(seed, "train", "init", *member_key))
    device = pick_device(train_cfg.get("device", "auto"))
    log.info("training on %s", device)

    pos_val, adv_val = validation_masks(data, train_cfg, seed)
    for name, arr, key in (
        ("positive", data.positive[~pos_val], "n_samples"),
        ("adversarial", data.adversarial[~adv_val], "n_samples"),
        ("general", data.general, "n_general_samples"),
        ("negative stream", data.negative_stream[N_FRAMES - 1 :], "negative_stream_hours"),
    ):
        if len(arr) == 0:
            raise WakeforgeError(f"no {name} training features: increase config key {key}")

    def on_device(a: np.ndarray) -> torch.Tensor:
        return to_device(a, device)

    train_x = {
        "positive": on_device(data.positive[~pos_val]),
        "adversarial": on_device(data.adversarial[~adv_val]),
        "general": on_device(data.general),
        "stream": stream_windows(on_device(data.negative_stream)),
    }
    validation = ValidationSets.build(data, pos_val, adv_val, on_device, seed)

    model = build_model(model_cfg).to(device)
    steps = int(train_cfg["steps"])
    batch_size = int(train_cfg["batch_size"])
    fractions = {**DEFAULT_FRACTIONS, **train_cfg.get("batch_fractions", {})}
    classes = CLASSES
    pool = None
    if data.precomputed is not None and fractions["precomputed"] > 0:
        classes = CLASSES + ("precomputed",)
        pool = PrecomputedPool(
            data.precomputed, train_cfg.get("precomputed_pool", 100_000), train_cfg.get("precomputed_refresh", 1000), seed, device
        )
        log.info("precomputed negatives: %d windows, %d on the device at a time", len(data.precomputed), pool.size)
    total = sum(fractions[c] for c in classes)
    counts = {c: max(1, int(round(batch_size * fractions[c] / total))) for c in classes}
    labels = torch.cat([torch.full((counts[c],), 1.0 if c == "positive" else 0.0, device=device) for c in classes])
    is_negative = labels == 0
    # Smoothed targets keep logits finite, so scores stay ordered (and a threshold can be calibrated)
    # instead of saturating at exactly 1.0 for positives and for the worst false accepts alike.
    smoothing = float(train_cfg.get("label_smoothing", 0.05))
    targets = labels * (1 - smoothing) + 0.5 * smoothing

    lr = float(train_cfg["learning_rate"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=float(train_cfg.get("weight_decay", 0.01)))
    warmup = max(1, int(steps * train_cfg.get("warmup_fraction", 0.05)))

    def lr_at(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    max_neg_weight = float(train_cfg.get("max_negative_weight", 10.0))
    eval_every = max(1, int(train_cfg.get("eval_every", 500)))
    generator = torch.Generator(device=device)
    generator.manual_seed(child_seed(seed, "train", "batches", *member_key))
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")

    hard_fraction = float(train_cfg.get("hard_negative_fraction", 0.0))
    hard_top = float(train_cfg.get("hard_negative_top", 0.05))
    hard: dict[str, torch.Tensor] = {}  # class -> indices of its currently hardest training negatives
    n_hard = {c: int(round(counts[c] * hard_fraction)) for c in classes if c != "positive"}

    def draw(c: str) -> torch.Tensor:
        pool_c = train_x[c]
        k = n_hard.get(c, 0) if c in hard else 0
        idx = torch.randint(len(pool_c), (counts[c] - k,), device=device, generator=generator)
        if k:
            idx = torch.cat([idx, hard[c][torch.randint(len(hard[c]), (k,), device=device, generator=generator)]])
        return pool_c[idx]

    # train.ema_decay: validate, keep and average an exponential moving average of the weights
    # (torch's AveragedModel) instead of the weights of the last step alone
    ema_decay = float(train_cfg.get("ema_decay", 0.0))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay)) if ema_decay > 0 else None
    kept = ema.module if ema is not None else model

    def validation_row(step: int) -> dict:
        return validation.row(kept, step, threshold, fp_target, refractory_s)

    def snapshot() -> dict:
        return {k: v.detach().cpu().clone() for k, v in kept.state_dict().items()}

    patience = int(train_cfg.get("patience", 0))
    n_average = max(1, int(train_cfg.get("average_checkpoints", 1)))
    history: list[dict] = []
    candidates: list[tuple[tuple, int, dict, dict]] = []  # (select key, step, state, row), best first
    since_best = 0
    started = time.perf_counter()
    running_loss = torch.zeros((), device=device)
    step = 0
    model.train()
    for step in tqdm(range(1, steps + 1), desc="train", disable=not progress, mininterval=5):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step - 1)
        if pool is not None:
            train_x["precomputed"] = pool.at_step(step)
            if pool.fresh:  # hard indices pointed into the previous pool
                hard.pop("precomputed", None)
        batch = torch.cat([draw(c) for c in classes])
        # Negatives weigh more as training goes on: early steps learn the phrase, later ones cut false accepts.
        neg_weight = 1.0 + (max_neg_weight - 1.0) * min(1.0, step / steps)
        weights = torch.where(is_negative, neg_weight, 1.0)
        loss = (loss_fn(model.logits(batch).squeeze(-1), targets) * weights).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if ema is not None:
            ema.update_parameters(model)
        running_loss += loss.detach()

        if step % eval_every == 0 or step == steps:
            n_since = eval_every if step % eval_every == 0 else step % eval_every
            row = {**validation_row(step), "loss": float(running_loss) / n_since, "lr": lr_at(step - 1), "negative_weight": neg_weight}
            row["elapsed_s"] = time.perf_counter() - started
            running_loss.zero_()
            history.append(row)
            log.info("step %d: %s", step, {k: round(v, 4) for k, v in row.items() if k != "step"})
            key = select_key(row, fp_target)
            improved = not candidates or key > candidates[0][0]
            candidates = sorted(candidates + [(key, step, snapshot(), row)], key=lambda c: c[0], reverse=True)[:n_average]
            since_best = 0 if improved else since_best + 1
            if hard_fraction > 0:
                hard = hardest_negatives(model, {c: train_x[c] for c in n_hard}, hard_top, max(n_hard.values(), default=1))
            if patience and since_best >= patience:
                log.info("early stop at step %d: no better checkpoint in %d evaluations", step, patience)
                break
    elapsed = time.perf_counter() - started
    best_key, best_step, best_state, best_row = candidates[0]
    best = {"state_dict": best_state, "model_config": dict(model_cfg), "step": best_step, "val_metrics": best_row, "averaged_steps": [best_step]}
    if len(candidates) > 1:
        # Average the weights of the best few checkpoints; keep the average only if validation agrees.
        kept.load_state_dict(average_states([c[2] for c in candidates]))
        row = validation_row(best_step)
        if select_key(row, fp_target) >= best_key:
            best.update(state_dict=snapshot(), val_metrics=row, averaged_steps=sorted(c[1] for c in candidates))
        log.info("average of steps %s: %s (%s)", sorted(c[1] for c in candidates), {k: round(v, 4) for k, v in row.items() if k != "step"},
                 "kept" if len(best["averaged_steps"]) > 1 else "not better than step %d" % best_step)
    best["steps_run"] = step
    best["steps_per_second"] = step / elapsed if elapsed > 0 else float("nan")
    best["device"] = str(device)
    log.info("best step %d (%.1f steps/s on %s)", best["step"], best["steps_per_second"], device)
    return best, history


def train_ensemble(
    data: TrainData,
    model_cfg: dict,
    train_cfg: dict,
    threshold: float,
    fp_target: float,
    seed: int,
    refractory_s: float = 1.0,
    threads: int = 1,
    progress: bool = False,
) -> tuple[dict, list[dict]]:
    """:func:`train` for ``model.ensemble`` members (one model when it is 1), each from its own seed
    with its own checkpoint selection; the checkpoint holds their :class:`~wakeforge.model.Ensemble`
    and its validation row. History rows carry their ``member``."""
    n_members = int(model_cfg.get("ensemble", 1))
    member_cfg = {**model_cfg, "ensemble": 1}
    runs = []
    for member in range(n_members):
        if n_members > 1:
            log.info("ensemble member %d of %d", member + 1, n_members)
        runs.append(train(data, member_cfg, train_cfg, threshold, fp_target, seed, refractory_s, threads, progress, member=member))
    history = [{**row, "member": member} for member, (_, rows) in enumerate(runs) for row in rows]
    first = runs[0][0]
    if n_members == 1:
        return first, history
    device = pick_device(train_cfg.get("device", "auto"))
    validation = ValidationSets.build(data, *validation_masks(data, train_cfg, seed), lambda a: to_device(a, device), seed)
    ensemble = build_model(model_cfg)
    for net, (best, _) in zip(ensemble.members, runs):
        net.load_state_dict(best["state_dict"])
    ensemble = ensemble.to(device)
    steps = [best["step"] for best, _ in runs]
    row = validation.row(ensemble, max(steps), threshold, fp_target, refractory_s)
    log.info("ensemble of steps %s: %s", steps, {k: round(v, 4) for k, v in row.items() if k != "step"})
    ensemble_ckpt = {
        "state_dict": {k: v.detach().cpu().clone() for k, v in ensemble.state_dict().items()},
        "model_config": dict(model_cfg),
        "step": max(steps),
        "member_steps": steps,
        "val_metrics": row,
        "member_val_metrics": [best["val_metrics"] for best, _ in runs],
        "steps_run": sum(best["steps_run"] for best, _ in runs),
        "steps_per_second": float(np.mean([best["steps_per_second"] for best, _ in runs])),
        "device": first["device"],
    }
    return ensemble_ckpt, history


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of several state dicts (integer buffers are taken from the first)."""
    out = {}
    for key, value in states[0].items():
        out[key] = torch.stack([s[key] for s in states]).mean(dim=0) if value.is_floating_point() else value.clone()
    return out


@torch.no_grad()
def hardest_negatives(model: nn.Module, pools: dict[str, torch.Tensor], top: float, minimum: int, batch_size: int = 8192) -> dict[str, torch.Tensor]:
    """Per class, the indices of its highest-scoring (hardest) ``top`` fraction of training negatives."""
    out = {}
    for name, x in pools.items():
        k = min(len(x), max(minimum, int(len(x) * top)))
        out[name] = torch.topk(scores_on_device(model, x, batch_size), k).indices
    return out
