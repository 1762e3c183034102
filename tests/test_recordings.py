"""Personal recordings: found, resampled, trimmed, checked, and split by file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from wakeforge.errors import WakeforgeError
from wakeforge.recordings import import_recordings, split_recordings


def _utterance(rate: int, seconds: float, channels: int = 1, lead: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * np.hanning(len(t))
    x = np.concatenate([np.zeros(int(lead * rate)), voice, np.zeros(int(lead * rate))])
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def test_import_trims_resamples_skips_and_splits(tmp_path, caplog):
    rec = tmp_path / "me"
    (rec / "sub").mkdir(parents=True)
    sf.write(rec / "a.wav", _utterance(44100, 0.8, channels=2), 44100)
    sf.write(rec / "b.flac", _utterance(48000, 0.7), 48000)
    sf.write(rec / "sub" / "c.ogg", _utterance(16000, 0.9), 16000)
    sf.write(rec / "d.wav", _utterance(16000, 0.6), 16000)
    sf.write(rec / "long.wav", _utterance(16000, 8.0), 16000)  # not one utterance
    sf.write(rec / "silent.wav", np.zeros(16000), 16000)
    (rec / "broken.wav").write_bytes(b"RIFF not really")
    (rec / "notes.txt").write_text("not audio")
    sets = import_recordings(rec, test_fraction=0.3, seed=3)
    train_clips, train_names = sets["personal_train"]
    test_clips, test_names = sets["personal_test"]
    assert sorted(train_names + test_names) == ["a.wav", "b.flac", "c.ogg", "d.wav"]
    assert len(test_names) == 1 and not set(train_names) & set(test_names)
    for clip, name in zip(train_clips + test_clips, train_names + test_names):
        assert clip.dtype == np.int16
        expected = {"a.wav": 0.8, "b.flac": 0.7, "c.ogg": 0.9, "d.wav": 0.6}[name]
        assert expected - 0.1 < len(clip) / 16000 < expected + 0.25, "silence trimmed, rate converted"
    assert "3 of 7 files skipped" in caplog.text
    again = import_recordings(rec, test_fraction=0.3, seed=3)
    assert again["personal_test"][1] == test_names, "the split follows the seed"


def test_split_keeps_one_of_each_when_possible():
    assert [len(x) for x in split_recordings(1, 0.3, 0)] == [1, 0]
    assert [len(x) for x in split_recordings(2, 0.01, 0)] == [1, 1]
    assert [len(x) for x in split_recordings(10, 0.9, 0)] == [1, 9]
    train, test = split_recordings(10, 0.3, 0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(10)) and len(test) == 3


def test_folder_errors_name_the_config_key(tmp_path):
    with pytest.raises(WakeforgeError, match="personal_recordings.folder: .* is not a folder"):
        import_recordings(tmp_path / "missing", 0.3, 0)
    (tmp_path / "empty").mkdir()
    sf.write(tmp_path / "empty" / "quiet.wav", np.zeros(8000), 16000)
    with pytest.raises(WakeforgeError, match="personal_recordings.folder: no usable recordings"):
        import_recordings(tmp_path / "empty", 0.3, 0)
