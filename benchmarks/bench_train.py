"""Training speed: wakeforge's device-resident batches against per-step host batches.

Both loops train the default model (config: DNN 128 x 2, dropout 0.3, batch 512) on feature arrays
of the default run's sizes (random values; speed does not depend on them). The reference builds
each batch on the host and copies it to the device every step, as openWakeWord's training does
with its memory-mapped batch generator. Ours is ``wakeforge.train.train``: every array lives on
the device and a batch is drawn by index there. Prints steps per second of each and the ratio.

    python benchmarks/bench_train.py [--steps 2000] [--device cpu|cuda] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import yaml

from wakeforge import train as tr
from wakeforge.model import build_model


def default_config() -> dict:
    from pathlib import Path

    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text())
    validate(cfg, str(root / "config" / "schema.yaml"))
    return cfg


def default_sized_data(seed: int = 0) -> tr.TrainData:
    rng = np.random.default_rng(seed)
    feats = lambda n: rng.standard_normal((n, 16, 96), dtype=np.float32)  # noqa: E731
    return tr.TrainData(
        positive=feats(5000),
        positive_source=np.arange(5000),
        adversarial=feats(5000),
        adversarial_source=np.arange(5000),
        general=feats(5000),
        negative_stream=rng.standard_normal((90_000, 96), dtype=np.float32),  # 2 h
        stream=rng.standard_normal((45_000, 96), dtype=np.float32),  # 1 h
    )


def reference_steps_per_s(data: tr.TrainData, model_cfg: dict, train_cfg: dict, steps: int, device: torch.device) -> float:
    """Batches assembled with numpy on the host and copied to the device each step."""
    rng = np.random.default_rng(1)
    windows = np.lib.stride_tricks.sliding_window_view(data.negative_stream, 16, axis=0).swapaxes(1, 2)
    pools = {"positive": data.positive, "adversarial": data.adversarial, "general": data.general, "stream": windows}
    fractions = train_cfg["batch_fractions"]
    total = sum(fractions[c] for c in pools)
    counts = {c: max(1, round(train_cfg["batch_size"] * fractions[c] / total)) for c in pools}
    labels = torch.cat([torch.full((counts[c],), float(c == "positive")) for c in pools]).to(device)
    model = build_model(model_cfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train_cfg["learning_rate"])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    started = time.perf_counter()
    for _ in range(steps):
        batch = np.concatenate([pools[c][rng.integers(len(pools[c]), size=counts[c])] for c in pools])
        x = torch.from_numpy(batch).to(device)
        loss = loss_fn(model.logits(x).squeeze(-1), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def run(steps: int = 2000, device: str = "cpu", threads: int = 2) -> dict:
    torch.set_num_threads(threads)
    cfg = default_config()
    data = default_sized_data()
    train_cfg = {**cfg["train"], "steps": steps, "eval_every": steps * 10, "device": device}
    ref = reference_steps_per_s(data, cfg["model"], train_cfg, steps, torch.device(device))
    best, _ = tr.train(data, cfg["model"], train_cfg, 0.5, 0.2, seed=1, threads=threads)
    ours = best["steps_per_second"]  # includes the single final evaluation pass
    return {"steps": steps, "device": device, "reference_steps_per_s": ref, "wakeforge_steps_per_s": ours, "ratio": ours / ref}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2)
    a = parser.parse_args()
    r = run(a.steps, a.device, a.threads)
    print(
        f"training ({r['steps']} steps, default model and batch, {r['device']}): per-step host batches "
        f"{r['reference_steps_per_s']:.1f} steps/s, wakeforge {r['wakeforge_steps_per_s']:.1f} steps/s, ratio {r['ratio']:.2f}x"
    )


if __name__ == "__main__":
    main()
