"""Detection metrics shared by training (checkpoint selection) and evaluation.

In: per-clip scores of positive and negative clips, per-80 ms-frame scores of a negative stream.
Out: recall, accuracy, and false accepts per hour, where one false accept is a run of frames above
the threshold, with frames within ``refractory_s`` of the last activation counted as the same
activation (what a user hears: one wrong wake-up, not sixteen consecutive frames).
"""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.08  # one openWakeWord prediction per 1280 samples at 16 kHz


STREAM_PARTS = ("selection", "calibration", "report")


def split_stream(stream: np.ndarray, context: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The validation stream's three thirds: (checkpoint selection, threshold calibration, report).

    Training chooses its checkpoint on the first third, the threshold is calibrated on the second,
    and false accepts are reported on the last, which neither has seen. A checkpoint chosen for its
    recall at the threshold of one stretch of audio is partly chosen for that stretch's luck, so
    calibrating on the same stretch understated the false accepts (0 calibrated, 9 reported in 3 h).

    ``context`` frames before the second and third thirds come with them (the stream is one
    recording): with ``context = MODEL_FRAMES - 1`` their windows (:func:`wakeforge.features.stream_windows`)
    are exactly the decisions made during each third, and a third of 15 h is 5 h of them, not
    1.2 s less (which made one false accept 0.20001 per hour, over a 0.2 target).
    """
    a, b = len(stream) // 3, 2 * len(stream) // 3
    return stream[:a], stream[third_start(len(stream), 1, context) : b], stream[third_start(len(stream), 2, context) :]


def third_start(n_frames: int, third: int, context: int = 0) -> int:
    """The frame where :func:`split_stream`'s ``third`` (0, 1, 2) starts, ``context`` frames included."""
    return max(0, third * n_frames // 3 - context) if third else 0


def stream_hours(frames) -> float:
    """Hours of audio behind a stream of per-frame embeddings or scores (one per 80 ms)."""
    return len(frames) * FRAME_SECONDS / 3600


def _gap_frames(refractory_s: float) -> int:
    return max(1, int(round(refractory_s / FRAME_SECONDS)))


def _activations(scores: np.ndarray, threshold: float, refractory_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The frames at or above the threshold, and the positions among them where an activation starts
    after the first (a gap longer than the refractory period)."""
    above = np.flatnonzero(scores >= threshold)
    return above, np.flatnonzero(np.diff(above) > _gap_frames(refractory_s)) + 1


def count_activations(frame_scores: np.ndarray, threshold: float, refractory_s: float = 1.0) -> int:
    """Number of separate activations in a stream of frame scores."""
    above, starts = _activations(np.asarray(frame_scores), threshold, refractory_s)
    return int(1 + len(starts)) if len(above) else 0


def activation_peaks(frame_scores: np.ndarray, threshold: float, refractory_s: float = 1.0) -> np.ndarray:
    """The frame of the highest score of each activation that :func:`count_activations` counts."""
    scores = np.asarray(frame_scores)
    above, starts = _activations(scores, threshold, refractory_s)
    runs = np.split(above, starts) if len(above) else []
    return np.array([run[np.argmax(scores[run])] for run in runs], dtype=np.int64)


def false_accepts_per_hour(frame_scores: np.ndarray, threshold: float, refractory_s: float = 1.0) -> float:
    """Activations per hour of a negative stream (its length is derived from the frame count)."""
    hours = stream_hours(frame_scores)
    if hours <= 0:
        return float("nan")
    return count_activations(frame_scores, threshold, refractory_s) / hours


def pooled_false_accepts_per_hour(streams: list[np.ndarray], threshold: float, refractory_s: float = 1.0) -> float:
    """Activations per hour over several separate negative streams (counted per stream, hours summed)."""
    hours = sum(stream_hours(s) for s in streams)
    if hours <= 0:
        return float("nan")
    return sum(count_activations(s, threshold, refractory_s) for s in streams) / hours


def _share_at_or_above(scores: np.ndarray, threshold: float) -> float:
    """Fraction of clips scored at or above the threshold (NaN for no clips)."""
    scores = np.asarray(scores)
    return float(np.mean(scores >= threshold)) if len(scores) else float("nan")


def recall(positive_scores: np.ndarray, threshold: float) -> float:
    """Fraction of positive clips detected at the threshold (NaN for no clips)."""
    return _share_at_or_above(positive_scores, threshold)


def false_positive_rate(negative_scores: np.ndarray, threshold: float) -> float:
    """Fraction of negative clips (adversarial or general) detected at the threshold (NaN for no clips)."""
    return _share_at_or_above(negative_scores, threshold)


def accuracy(positive_scores: np.ndarray, negative_scores: np.ndarray, threshold: float) -> float:
    """Fraction of all clips classified correctly at the threshold."""
    correct = np.count_nonzero(np.asarray(positive_scores) >= threshold) + np.count_nonzero(np.asarray(negative_scores) < threshold)
    total = len(positive_scores) + len(negative_scores)
    return correct / total if total else float("nan")
