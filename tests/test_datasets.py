"""Full-tier dataset preparation: listed downloads, parquet audio decoding, feature-file checks."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import yaml
from fixture_server import FixtureServer
from full_tier_site import _add_listing, wav_bytes
from snakemake.utils import validate
from test_workflow import ROOT

from wakeforge import catalog
from wakeforge.datasets import check_feature_file, decode_parquet_audio, download_listed, listed_checksum
from wakeforge.errors import WakeforgeError
from wakeforge.metrics import stream_hours


def _config(url: str) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["assets"]["full"]["hosts"] = {"huggingface": [url], "github": [url]}
    validate(cfg, str(ROOT / "config" / "schema.yaml"))
    return cfg


def _tone(freq: float, seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def test_download_listed_verifies_each_file_and_keeps_good_ones(tmp_path):
    files: dict[str, bytes] = {}
    members = {f"16khz/r{i}.wav": (wav_bytes(_tone(300 + i, 0.2, 16000), 16000), True) for i in range(3)}
    members["16khz/notes.txt"] = (b"hello\n", False)
    _add_listing(files, catalog.RIRS, "16khz", members)
    with FixtureServer(files) as server:
        cfg = _config(server.url)
        dest = tmp_path / "rirs"
        dest.mkdir()
        (dest / "mit_r0.wav").write_bytes(members["16khz/r0.wav"][0])  # a verified copy from an earlier run
        (dest / "mit_r1.wav").write_bytes(b"truncated")  # a damaged one
        got = download_listed(cfg, catalog.RIRS, "16khz", dest, "mit_rirs", include=lambda p: p.endswith(".wav"), prefix="mit_", progress=False)
        assert [p.name for p in got] == ["mit_r0.wav", "mit_r1.wav", "mit_r2.wav"]
        for i, p in enumerate(got):
            assert p.read_bytes() == members[f"16khz/r{i}.wav"][0]
        fetched = [path for path, _, _ in server.requests if path.endswith(".wav")]
        assert not any(p.endswith("r0.wav") for p in fetched), "a verified file was downloaded again"
        size, checksum = listed_checksum(catalog.hf_tree_urls(cfg, catalog.RIRS, "16khz"), "16khz/notes.txt", tmp_path, "mit_rirs")
        assert (size, checksum.algorithm) == (6, "git-sha1")
        with pytest.raises(WakeforgeError, match="not in the host's file list"):
            listed_checksum(catalog.hf_tree_urls(cfg, catalog.RIRS, "16khz"), "16khz/absent.wav", tmp_path, "mit_rirs")
        with pytest.raises(WakeforgeError, match="no matching files"):
            download_listed(cfg, catalog.RIRS, "16khz", dest, "mit_rirs", include=lambda p: p.endswith(".flac"), progress=False)


def test_decode_parquet_audio_resamples_skips_and_limits(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"bytes": wav_bytes(_tone(440, 1.5, 44100, 2), 44100, "FLAC", None), "path": "a/yt1.flac"}, {"bytes": b"junk", "path": "bad.flac"}, None]
    rows += [{"bytes": wav_bytes(_tone(1000, 1.0, 48000), 48000, "OGG", "VORBIS"), "path": f"yt{i}.ogg"} for i in range(3)]
    parquet = tmp_path / "shard.parquet"
    pq.write_table(pa.table({"audio": rows}), parquet)
    paths, skipped = decode_parquet_audio(parquet, tmp_path / "out", kind="audioset", max_clips=3)
    assert skipped == 2 and len(paths) == 3
    assert paths[0].name == "audioset_00000_yt1.wav"
    audio, rate = sf.read(paths[0])
    assert rate == 16000 and audio.ndim == 1 and abs(len(audio) - 24000) <= 2
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * rate / len(audio) - 440) < 3
    with pytest.raises(WakeforgeError, match="no 'sound' column"):
        decode_parquet_audio(parquet, tmp_path / "o2", kind="x", column="sound")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(WakeforgeError, match="not a readable parquet"):
        decode_parquet_audio(tmp_path / "broken.parquet", tmp_path / "o3", kind="x")


def test_check_feature_file_shapes(tmp_path):
    good = tmp_path / "acav.npy"
    np.save(good, np.zeros((10, 16, 96), np.float16))
    assert check_feature_file(good, windows=True, asset="acav100m").shape == (10, 16, 96)
    frames = tmp_path / "val.npy"
    np.save(frames, np.zeros((4500, 96), np.float32))
    assert stream_hours(check_feature_file(frames, windows=False, asset="validation_features")) == pytest.approx(0.1)
    with pytest.raises(WakeforgeError, match=r"acav100m: .* has shape \(4500, 96\), expected \(n, 16, 96\)"):
        check_feature_file(frames, windows=True, asset="acav100m")
    (tmp_path / "html.npy").write_bytes(b"<html>rate limited</html>")
    with pytest.raises(WakeforgeError, match="not a numpy array"):
        check_feature_file(tmp_path / "html.npy", windows=False, asset="validation_features")
