import numpy as np
import pytest

from wakeforge import augment
from wakeforge.audio import SAMPLE_RATE, to_float
from wakeforge.augment import Augmenter, AugmentSettings


def test_clip_length_rule():
    # median + 750 ms, at least 2 s, whole 80 ms chunks
    assert augment.clip_samples_for([8000, 12000, 16000]) == 32000
    n = augment.clip_samples_for([24000] * 3)  # 1.5 s + 0.75 s = 2.25 s -> 36,000 -> 37,120 (29 chunks)
    assert n % 1280 == 0 and 36000 <= n < 36000 + 1280


def test_place_end_puts_speech_near_the_end(piper_clips):
    speech = to_float(piper_clips[0])
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = augment.place(speech, 32000, rng, "end", 0.2)
        active = np.flatnonzero(np.abs(x) > 0)
        assert 32000 - active[-1] - 1 <= 0.2 * SAMPLE_RATE + 800  # trimmed clips keep a short tail
        assert np.allclose(x[x != 0][:100], speech[speech != 0][:100])


def test_place_random_crops_long_speech():
    speech = np.arange(50000, dtype=np.float32)
    x = augment.place(speech, 32000, np.random.default_rng(1), "random", 0.2)
    assert len(x) == 32000 and np.all(np.diff(x) == 1)


def test_mix_at_snr_hits_the_ratio():
    rng = np.random.default_rng(2)
    signal, noise = rng.standard_normal(16000).astype(np.float32), rng.standard_normal(16000).astype(np.float32) * 3
    mixed = augment.mix_at_snr(signal, noise, 10.0)
    snr = 20 * np.log10(augment.rms(signal) / augment.rms(mixed - signal))
    assert snr == pytest.approx(10.0, abs=0.01)


def test_apply_rir_keeps_level_and_spreads_energy():
    x = np.zeros(16000, dtype=np.float32)
    x[1000] = 1.0
    rir = np.exp(-np.arange(4000) / 800.0).astype(np.float32)
    y = augment.apply_rir(x, rir)
    assert augment.rms(y) == pytest.approx(augment.rms(x), rel=1e-3)
    assert np.argmax(y) == 1000 and np.count_nonzero(np.abs(y) > 1e-4) > 1000


def test_colored_noise_slopes():
    rng = np.random.default_rng(3)
    for exponent, slope_db in ((0.0, 0.0), (-1.0, -3.0), (-2.0, -6.0)):
        x = augment.colored_noise(2**16, exponent, rng)
        spec = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
        band = lambda f: spec[(freqs > f / 1.2) & (freqs < f * 1.2)].mean()  # noqa: E731
        measured = 10 * np.log10(band(2000) / band(1000))
        assert measured == pytest.approx(slope_db, abs=1.0)


def make_augmenter(**overrides):
    rng = np.random.default_rng(4)
    rirs = [np.exp(-np.arange(2000) / 300.0).astype(np.float32)]
    backgrounds = [rng.standard_normal(SAMPLE_RATE * 3).astype(np.float32) * 0.1]
    return Augmenter(AugmentSettings(**overrides), rirs, backgrounds)


def test_augment_shapes_rounds_and_determinism(piper_clips):
    aug = make_augmenter()
    a, source = aug.augment(piper_clips, 32000, np.random.default_rng(5), "end", rounds=2)
    b, _ = aug.augment(piper_clips, 32000, np.random.default_rng(5), "end", rounds=2)
    c, _ = aug.augment(piper_clips, 32000, np.random.default_rng(6), "end", rounds=2)
    assert a.shape == (6, 32000) and a.dtype == np.int16
    assert source.tolist() == [0, 1, 2, 0, 1, 2]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[3])  # two rounds of one clip differ
    peaks_db = 20 * np.log10(np.abs(a).max(axis=1) / 32767)
    assert np.all(peaks_db <= -0.9) and np.all(peaks_db >= -20.5)


def test_background_only_clips_have_no_speech(piper_clips):
    aug = make_augmenter(background_only_fraction=1.0, color_noise_probability=0.0)
    out, _ = aug.augment(piper_clips[:1], 32000, np.random.default_rng(7), "random")
    assert out.shape == (1, 32000)
    assert np.abs(out).max() > 0  # background is there ...
    # ... and it is the background's flat spectrum, not speech energy concentrated below 4 kHz
    spec = np.abs(np.fft.rfft(out[0].astype(np.float32))) ** 2
    assert spec[len(spec) // 2 :].sum() / spec.sum() > 0.3


def test_settings_from_config_turns_lists_into_ranges():
    s = AugmentSettings.from_config({"snr_db": [0, 5], "rounds": 3, "pitch_probability": 0.0})
    assert s.snr_db == (0, 5) and s.pitch_probability == 0.0


def test_pools_hold_out_one_in_five_per_kind(tmp_path):
    import soundfile as sf

    from wakeforge.assets import write_manifest

    paths = []
    for kind, n in (("pink", 10), ("hum50", 1)):
        for i in range(n):
            p = tmp_path / f"{kind}_{i:04d}.wav"
            sf.write(p, np.zeros(1600, dtype=np.float32), SAMPLE_RATE)
            paths.append(p)
    write_manifest(paths, tmp_path / "manifest.tsv")
    train = augment.pool_paths(str(tmp_path / "manifest.tsv"), "train")
    heldout = augment.pool_paths(str(tmp_path / "manifest.tsv"), "heldout")
    assert len(heldout) == 2 and len(train) == 9
    assert not set(train) & set(heldout)
    assert all("pink" in p.name for p in heldout)
