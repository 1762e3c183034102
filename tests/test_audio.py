import numpy as np
import pytest
import soundfile as sf

from wakeforge import audio
from wakeforge.errors import WakeforgeError


def tone(freq, sr, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x, sr):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)]


def test_resample_22050_keeps_duration_and_pitch():
    # Piper's 22,050 Hz -> 16 kHz is a 320/441 ratio; 160/441 would give 8 kHz and halve every pitch.
    x = tone(1000.0, 22050)
    y = audio.resample(x, 22050)
    assert abs(len(y) - 16000) <= 1
    assert abs(peak_hz(y, 16000) - 1000.0) < 2.0


def test_read_audio_converts_stereo_44k_to_16k_mono(tmp_path):
    stereo = np.stack([tone(440, 44100), tone(440, 44100)], axis=1)
    sf.write(tmp_path / "a.wav", stereo, 44100)
    y = audio.read_audio(tmp_path / "a.wav")
    assert y.ndim == 1 and abs(len(y) - 16000) <= 1
    assert abs(peak_hz(y, 16000) - 440) < 2.0


def test_read_audio_bad_file_names_it(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(WakeforgeError, match="broken.wav"):
        audio.read_audio(bad)


def test_clip_sets_round_trip_and_concatenate(tmp_path):
    clips = [np.arange(5, dtype=np.int16), np.full(3, 0.5, dtype=np.float32), np.zeros(0, dtype=np.int16)]
    audio.save_clips(tmp_path / "a.npz", clips, ["x", "y", "z"])
    audio.save_clips(tmp_path / "b.npz", clips[:1], ["w"])
    loaded, texts = audio.load_clip_sets([tmp_path / "a.npz", tmp_path / "b.npz"])
    assert texts == ["x", "y", "z", "w"]
    assert [len(c) for c in loaded] == [5, 3, 0, 5]
    assert loaded[1][0] == audio.to_pcm(np.array([0.5]))[0]
    assert not list(tmp_path.glob("*.tmp*"))
    # engines are recorded when given, and absent (None) otherwise
    audio.save_clips(tmp_path / "c.npz", clips, ["x", "y", "z"], engines=["piper:joe", "espeak", "espeak"])
    assert audio.load_clip_engines(tmp_path / "c.npz") == ["piper:joe", "espeak", "espeak"]
    assert audio.load_clip_engines(tmp_path / "a.npz") is None
    with pytest.raises(ValueError, match="engines"):
        audio.save_clips(tmp_path / "d.npz", clips, ["x", "y", "z"], engines=["espeak"])


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.npy"
    with pytest.raises(RuntimeError):
        with audio.atomic_path(target, ".npy") as tmp:
            np.save(tmp, np.zeros(3))
            raise RuntimeError("interrupted")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_pcm_conversion_clips_and_rounds():
    assert audio.to_pcm(np.array([2.0, -2.0, 0.0])).tolist() == [32767, -32767, 0]
    assert np.allclose(audio.to_float(np.array([32767], dtype=np.int16)), 1.0)


def test_atomic_files_get_normal_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        audio.save_npy(tmp_path / "a.npy", np.zeros(2))
    finally:
        os.umask(old)
    assert (tmp_path / "a.npy").stat().st_mode & 0o777 == 0o644
