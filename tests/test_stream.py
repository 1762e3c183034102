import numpy as np
import pytest

from wakeforge.audio import SAMPLE_RATE
from wakeforge.errors import WakeforgeError
from wakeforge.stream import build_stream


def test_stream_length_content_and_determinism(piper_clips):
    rng = np.random.default_rng
    backgrounds = [rng(0).standard_normal(SAMPLE_RATE * 5).astype(np.float32) * 0.05]
    rirs = [np.exp(-np.arange(1000) / 200.0).astype(np.float32)]
    hours = 90 / 3600
    a = build_stream(piper_clips, rirs, backgrounds, hours, rng(1))
    b = build_stream(piper_clips, rirs, backgrounds, hours, rng(1))
    assert a.dtype == np.int16 and len(a) == 90 * SAMPLE_RATE
    assert np.array_equal(a, b)
    peak_dbfs = 20 * np.log10(np.abs(a).max() / 32767)
    assert -21 < peak_dbfs <= -2.9


def test_stream_without_speech_is_an_error():
    with pytest.raises(WakeforgeError, match="validation stream"):
        build_stream([], [], [], 0.01, np.random.default_rng(0))
