import numpy as np
import pytest

from wakeforge.audio import SAMPLE_RATE, to_float
from wakeforge.voices import VoiceChange, change_voice, change_voices

parselmouth = pytest.importorskip("parselmouth")


def median_pitch(clip: np.ndarray) -> float:
    pitch = parselmouth.Sound(to_float(clip).astype(np.float64), SAMPLE_RATE).to_pitch()
    f0 = pitch.selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


def centroid_hz(clip: np.ndarray) -> float:
    x = to_float(clip)
    frames = x[: len(x) // 512 * 512].reshape(-1, 512) * np.hanning(512)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    return float((spectrum * np.fft.rfftfreq(512, 1 / SAMPLE_RATE)).sum() / spectrum.sum())


def test_change_voice_moves_pitch_and_formants_apart(piper_clips):
    clip = piper_clips[1]  # joe: a male voice near 110 Hz
    own = median_pitch(clip)
    assert 80 < own < 140
    higher = change_voice(clip, 1.0, 220.0, 1.0)
    assert median_pitch(higher) == pytest.approx(220.0, rel=0.08)
    assert centroid_hz(higher) == pytest.approx(centroid_hz(clip), rel=0.12)  # formants stay
    shorter_tract = change_voice(clip, 1.18, 0.0, 1.0)  # 0 Hz: keep the pitch
    assert median_pitch(shorter_tract) == pytest.approx(own, rel=0.08)
    assert centroid_hz(shorter_tract) > centroid_hz(clip) * 1.08
    for out in (higher, shorter_tract):
        assert out.dtype == np.int16 and len(out) == len(clip)
        assert np.abs(out).max() == pytest.approx(np.abs(clip).max(), abs=2)


def test_change_voices_draws_a_share_from_the_rng_and_is_deterministic(piper_clips):
    clips = piper_clips * 10
    settings = VoiceChange(probability=0.5)
    a, ratios = change_voices(clips, np.random.default_rng(3), settings)
    b, _ = change_voices(clips, np.random.default_rng(3), settings)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    changed = ~np.isnan(ratios)
    assert 5 <= changed.sum() <= 25
    assert all(np.array_equal(x, c) for x, c, ch in zip(a, clips, changed) if not ch)
    assert not any(np.array_equal(x, c) for x, c, ch in zip(a, clips, changed) if ch)
    assert np.all((ratios[changed] >= 0.87) & (ratios[changed] <= 1.18))


def test_change_voices_off_draws_nothing(piper_clips):
    rng = np.random.default_rng(4)
    out, ratios = change_voices(piper_clips, rng, VoiceChange(probability=0.0))
    assert out == list(piper_clips) and np.isnan(ratios).all()
    assert rng.random() == np.random.default_rng(4).random()


def test_silent_and_tiny_clips_pass_through():
    silent, tiny = np.zeros(8000, np.int16), np.full(100, 1000, np.int16)
    assert change_voice(silent, 1.1, 200.0, 1.0) is None and change_voice(tiny, 1.1, 200.0, 1.0) is None
    out, ratios = change_voices([silent, tiny], np.random.default_rng(1), VoiceChange(probability=1.0))
    assert out[0] is silent and out[1] is tiny and np.isnan(ratios).all()


def test_settings_from_config():
    s = VoiceChange.from_config({"probability": 0.3, "formant_ratio": [0.9, 1.1]})
    assert s.probability == 0.3 and s.formant_ratio == (0.9, 1.1) and s.pitch_median_hz == (85.0, 260.0)
    assert VoiceChange.from_config(None).probability == 0.0


@pytest.mark.parametrize("key, value", [("formant_ratio", [1.2, 0.9]), ("pitch_median_hz", [0.0, 200.0]), ("pitch_range", [-1.0, 1.0])])
def test_bad_ranges_name_their_config_key(key, value):
    from wakeforge.errors import WakeforgeError

    with pytest.raises(WakeforgeError, match=f"tts.voice_change.{key}"):
        VoiceChange.from_config({key: value})
