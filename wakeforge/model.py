"""The wake word classifier over openWakeWord embeddings.

In: a batch of ``(batch, 16, 96)`` embedding frames (the last ~2 s of audio).
Out: ``(batch, 1)`` probabilities that the phrase was just said, which is exactly the
input/output contract openWakeWord's runtime expects of a wake word model.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import WakeforgeError

N_FRAMES = 16
EMBEDDING_DIM = 96


class Dropout(nn.Module):
    """Inverted dropout like :class:`torch.nn.Dropout`, with the mask drawn by ``torch.rand``: on the
    CPU that is 3x faster than the Bernoulli sampler behind ``nn.Dropout`` (1.9 vs 5.7 ms for a
    512 x 1536 batch on 2 cores), which made dropout two thirds of a training step. Identity in eval."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise WakeforgeError(f"config key model.dropout must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * (torch.rand_like(x) >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p))


class DNN(nn.Module):
    """openWakeWord's default fully connected model: flatten, then ``n_blocks`` + 1 (linear, layer norm, ReLU)."""

    def __init__(self, layer_dim: int = 128, n_blocks: int = 2, n_frames: int = N_FRAMES, dropout: float = 0.0):
        super().__init__()
        # Dropout is active in training only; the exported graph has none.
        layers: list[nn.Module] = [nn.Flatten(), Dropout(dropout), nn.Linear(n_frames * EMBEDDING_DIM, layer_dim), nn.LayerNorm(layer_dim), nn.ReLU()]
        for _ in range(n_blocks):
            layers += [Dropout(dropout), nn.Linear(layer_dim, layer_dim), nn.LayerNorm(layer_dim), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(layer_dim, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Unsquashed scores, for a numerically stable loss."""
        return self.head(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class _ConvBlock(nn.Module):
    """Residual temporal convolution (kernel 3 over the frames) with layer norm and GELU."""

    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size=3, padding=1)
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D)
        y = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.drop(torch.nn.functional.gelu(y))


class _SelfAttention(nn.Module):
    """Pre-norm multi-head self-attention over the frames, written with plain matmuls and softmax
    (so ONNX and TFLite converters see only basic operators), plus a feed-forward layer."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        if dim % heads:
            raise WakeforgeError(f"config key model.layer_dim ({dim}) must be a multiple of model.attention_heads ({heads})")
        self.heads, self.head_dim = heads, dim // heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D)
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) * (self.head_dim**-0.5), dim=-1)
        attended = (weights @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.out(attended))
        return x + self.drop(self.ff(self.norm2(x)))


class ConvAttention(nn.Module):
    """A small convolution + attention model over the 16 x 96 frames (``model.type: conv_attention``).

    Frames are projected to ``layer_dim`` with a learned position embedding, pass ``n_blocks``
    residual temporal convolutions (local patterns: the phrase's phonemes) and one self-attention
    block (their order across the ~1.3 s window), then attention pooling over time and a linear
    score. Same contract as :class:`DNN`: ``(batch, 16, 96)`` -> ``(batch, 1)`` probabilities.
    """

    def __init__(self, layer_dim: int = 64, n_blocks: int = 2, n_frames: int = N_FRAMES, dropout: float = 0.0, attention_heads: int = 4):
        super().__init__()
        self.inp = nn.Sequential(Dropout(dropout), nn.Linear(EMBEDDING_DIM, layer_dim))
        self.position = nn.Parameter(torch.zeros(1, n_frames, layer_dim))
        self.blocks = nn.Sequential(*[_ConvBlock(layer_dim, dropout) for _ in range(n_blocks)], _SelfAttention(layer_dim, attention_heads, dropout))
        self.norm = nn.LayerNorm(layer_dim)
        self.pool = nn.Linear(layer_dim, 1)
        self.head = nn.Linear(layer_dim, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.blocks(self.inp(x) + self.position))
        weights = torch.softmax(self.pool(h), dim=1)  # (B, T, 1)
        return self.head((weights * h).sum(dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class Ensemble(nn.Module):
    """The mean score of several models of one kind, each trained from its own seed: the highest
    scores of negative audio, which set a strict threshold, are where single models disagree most.
    Same contract as :class:`DNN`; it exports as one graph."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(dim=0)


MODEL_TYPES = {"dnn": DNN, "conv_attention": ConvAttention}


def build_model(model_cfg: dict) -> nn.Module:
    """Instantiate the model named by the config's ``model.type`` with the settings it takes
    (``attention_heads`` applies to conv_attention only); ``model.ensemble`` > 1 makes an
    :class:`Ensemble` of that many."""
    import inspect

    kind = model_cfg.get("type", "dnn")
    if kind not in MODEL_TYPES:
        raise WakeforgeError(f"config key model.type: unknown model {kind!r}; choose one of {sorted(MODEL_TYPES)}")
    accepted = inspect.signature(MODEL_TYPES[kind]).parameters
    kwargs = {k: v for k, v in model_cfg.items() if k != "type" and k in accepted}
    n_members = int(model_cfg.get("ensemble", 1))
    if n_members > 1:
        return Ensemble([MODEL_TYPES[kind](**kwargs) for _ in range(n_members)])
    return MODEL_TYPES[kind](**kwargs)


def load_checkpoint(path: str) -> tuple[nn.Module, dict]:
    """Load a checkpoint written by training: (model in eval mode, its metadata)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as exc:
        raise WakeforgeError(f"cannot read checkpoint {path}: {exc}") from exc
    model = build_model(ckpt["model_config"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt
