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
    with pytest.raises(WakeforgeError, match="speech clips"):
        build_stream([], [], [], 0.01, np.random.default_rng(0))


def test_stream_parts_reuse_clips_only_within_their_part(piper_clips, monkeypatch):
    """More hours than clips: clips come back in later blocks, but never across the two halves."""
    import wakeforge.stream as stream

    used = []  # (part's clip list, index) for every sentence placed
    original = stream._speech_block

    def spy(clips, n, next_clip, rng, placed=None):
        block, after = original(clips, n, next_clip, rng, placed)
        used.extend(id(clips[i % len(clips)]) for i in range(next_clip, after))
        return block, after

    monkeypatch.setattr(stream, "_speech_block", spy)
    clips = [c.copy() for c in piper_clips * 2]  # six distinct arrays
    hours = 8 * 30 / 3600  # eight 30 s blocks, far more speech than six short clips
    audio = build_stream(clips, [], [], hours, np.random.default_rng(3), parts=2)
    assert len(audio) == 8 * 30 * SAMPLE_RATE
    # the first half used only clips 0-2, the second only 3-5, each several times
    first, second = {id(c) for c in clips[:3]}, {id(c) for c in clips[3:]}
    half = used.index(next(u for u in used if u in second))
    assert set(used[:half]) == first and set(used[half:]) == second
    assert len(used) > 2 * len(clips)
    with pytest.raises(WakeforgeError, match="2 parts"):
        build_stream(clips[:1], [], [], hours, np.random.default_rng(3), parts=2)


def test_stream_records_where_each_sentence_is():
    """Tones an octave apart stand for sentences: the recorded span of each holds its own tone
    (moved by the block's speed change, at most 12 %), and the spans are where the sound is."""
    sr = SAMPLE_RATE
    freqs = [250.0, 500.0, 1000.0, 2000.0]
    t = np.arange(int(0.8 * sr)) / sr
    clips = [(8000 * np.sin(2 * np.pi * f * t)).astype(np.int16) for f in freqs]
    clips.insert(2, np.zeros(0, dtype=np.int16))  # an empty clip is dropped; indices still name the input
    hours = 4 * 30 / 3600 - 7.0 / 3600  # the last block cut 7 s short
    placed = []
    audio = build_stream(clips, [], [], hours, np.random.default_rng(5), parts=2, sentences=placed)
    plain = build_stream(clips, [], [], hours, np.random.default_rng(5), parts=2)
    assert np.array_equal(audio, plain)  # recording changes nothing
    assert len(placed) > 8 and {i for _, _, i in placed} == {0, 1, 3, 4}
    inside = np.zeros(len(audio), dtype=bool)
    for start, end, i in placed:
        assert 0 <= start < end <= len(audio)
        inside[start:end] = True
        if end - start < sr // 4:
            continue  # cut by the block's end: too short to tell the tone
        mid = audio[start + (end - start) // 4 : end - (end - start) // 4].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(mid * np.hanning(len(mid)))) ** 2
        hz = np.fft.rfftfreq(len(mid), 1 / sr)
        # coloured noise can outweigh a tone below 100 Hz: compare the four tones' bands only
        band_power = [spectrum[(hz > f * 0.86) & (hz < f * 1.15)].sum() for f in freqs]
        assert [0, 1, 3, 4][int(np.argmax(band_power))] == i, (i, band_power)
    # speech blocks: the sound is in the recorded spans, the gaps hold coloured noise only
    power = audio.astype(np.float64) ** 2
    assert power[inside].mean() > 3 * power[~inside].mean()
