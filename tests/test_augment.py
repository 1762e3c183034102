import numpy as np
import pytest

from wakeforge import augment
from wakeforge.audio import SAMPLE_RATE, to_float
from wakeforge.augment import Augmenter, AugmentSettings

# Every effect off: tests switch on the ones they look at.
QUIET = dict(
    rir_probability=0.0, background_probability=0.0, color_noise_probability=0.0, eq_probability=0.0,
    bandstop_probability=0.0, pitch_probability=0.0, distortion_probability=0.0, end_jitter_s=0.0,
)  # fmt: skip


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


def test_placements_keep_the_end_of_speech_longer_than_the_window():
    src, dst, count = augment.placements(np.array([40000, 1000]), 32000, np.random.default_rng(2), "end", 0.0)
    assert src.tolist() == [8000, 0] and dst.tolist() == [0, 31000] and count.tolist() == [32000, 1000]


def test_placements_leave_a_tail_after_the_speech():
    lengths = np.array([8000, 40000, 12000])
    plain = augment.placements(lengths, 32000, np.random.default_rng(3), "end", 0.2)
    src, dst, count = augment.placements(lengths, 32000 + 5120, np.random.default_rng(3), "end", 0.2, tail_samples=5120)
    # the same jitter as without a tail: the first 32000 samples are the window a model is trained on
    assert np.array_equal(dst, plain[1]) and np.array_equal(count, plain[2]) and np.array_equal(src, plain[0])
    assert np.all(32000 + 5120 - (dst + count) >= 5120)


def test_onset_placement_starts_sentences_before_the_windows_end():
    rng_lengths = np.random.default_rng(4)
    lengths = rng_lengths.integers(8000, 60000, 400)
    plain = augment.placements(lengths, 32000, np.random.default_rng(5), "random", 0.2)
    # no onset share: the same draws as before the option existed
    same = augment.placements(lengths, 32000, np.random.default_rng(5), "random", 0.2, onset_fraction=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(plain, same))
    src, dst, count = augment.placements(lengths, 32000, np.random.default_rng(5), "random", 0.2, onset_fraction=1.0)
    lo, hi = (int(x * augment.SAMPLE_RATE) for x in augment.ONSET_SECONDS)
    heard = 32000 - dst  # from the sentence's first sample to the window's end
    assert np.all(src == 0) and np.all((heard >= lo) & (heard <= hi))
    assert np.array_equal(count, np.minimum(lengths, heard))
    assert heard.std() > 0.5 * (hi - lo) / np.sqrt(12)  # spread over the range, not one offset
    # a share: about that fraction of the clips start at an onset, the rest are placed as before
    src, dst, count = augment.placements(lengths, 32000, np.random.default_rng(5), "random", 0.2, onset_fraction=0.5)
    at_onset = (src == 0) & (32000 - dst >= lo) & (32000 - dst <= hi) & (count == np.minimum(lengths, 32000 - dst))
    assert 0.4 < at_onset.mean() < 0.7


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
    be = augment._Backend("cpu")
    for exponent, slope_db in ((0.0, 0.0), (-1.0, -3.0), (-2.0, -6.0), (1.0, 3.0)):
        batch = augment.colored_noise_rows(2**16, np.array([exponent]), rng, be)
        for x in (augment.colored_noise(2**16, exponent, rng), batch[0]):
            spec = np.abs(np.fft.rfft(x)) ** 2
            freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
            band = lambda f: spec[(freqs > f / 1.2) & (freqs < f * 1.2)].mean()  # noqa: E731
            assert 10 * np.log10(band(2000) / band(1000)) == pytest.approx(slope_db, abs=1.0)
        assert augment.rms(batch[0]) == pytest.approx(1.0, rel=1e-3)


def test_pitch_shift_moves_a_tone_and_keeps_duration_and_level():
    be = augment._Backend("cpu")
    t = np.arange(32000) / SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * (t > 0.5)).astype(np.float32)
    semitones = np.array([-3.0, 0.0, 2.5])
    out = augment.pitch_shift(np.stack([tone] * 3), semitones, be)
    assert out.shape == (3, 32000)
    freqs = np.fft.rfftfreq(16000, 1 / SAMPLE_RATE)
    for y, s in zip(out, semitones):
        peak = freqs[np.argmax(np.abs(np.fft.rfft(y[16000:] * np.hanning(16000))))]
        assert peak == pytest.approx(440 * 2 ** (s / 12), abs=2.0)
        assert augment.rms(y[9000:]) == pytest.approx(augment.rms(tone[9000:]), rel=0.03)
        assert np.abs(y[:7000]).max() < 1e-3  # the silence before the tone stays silent
    assert np.abs(out[1] - tone)[9000:30000].max() < 0.01  # 0 semitones: the steady tone unchanged


@pytest.mark.parametrize("semitones", [-3.0, 2.0, 4.0])
def test_pitch_shift_keeps_every_harmonic(semitones):
    # moved bins that share a source bin once got equal phases and cancelled whole harmonics (-15 dB)
    be = augment._Backend("cpu")
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    comb = sum(np.sin(2 * np.pi * 125 * h * t + h * h) for h in range(1, 20)).astype(np.float32) * 0.02
    y = augment.pitch_shift(comb[None], np.array([semitones]), be)[0]
    spectrum = np.abs(np.fft.rfft(y[4000:12000] * np.hanning(8000)))
    freqs = np.fft.rfftfreq(8000, 1 / SAMPLE_RATE)
    f0 = 125 * 2 ** (semitones / 12)
    levels = np.array([spectrum[np.argmin(np.abs(freqs - h * f0))] for h in range(1, 15)])
    assert levels.min() > 0.7 * np.median(levels) and levels.max() < 1.3 * np.median(levels)


def audiomentations_eq_impulse(d, row):
    """The impulse response of audiomentations' seven EQ filters with the parameters drawn for ``row``."""
    import audiomentations as am

    x = np.zeros(augment.IIR_SAMPLES + 1, dtype=np.float32)
    x[1] = 1.0  # after a zero: audiomentations starts its filters in the steady state of the first sample
    filters = [am.LowShelfFilter(p=1.0)] + [am.PeakingFilter(p=1.0) for _ in range(5)] + [am.HighShelfFilter(p=1.0)]
    for band, f in enumerate(filters):
        f.parameters = {"should_apply": True, "center_freq": d.eq_freq[row, band], "gain_db": d.eq_gain_db[row, band], "q_factor": d.eq_q[row, band]}
        x = f.apply(x, SAMPLE_RATE)
    return x[1:]


def scipy_bandstop_response(d, row):
    """The frequency response (IIR_SAMPLES // 2 + 1 bins) of the band-stop scipy designs for ``row``'s draws."""
    from scipy.signal import butter, sosfreqz

    c, frac = d.bandstop_center[row], d.bandstop_fraction[row]
    band = [c * (1 - frac / 2), min(c * (1 + frac / 2), 8000 * 0.9999)]
    sos = butter(int(d.bandstop_order[row]), band, btype="bandstop", fs=SAMPLE_RATE, output="sos")
    return sosfreqz(sos, worN=augment.IIR_SAMPLES // 2 + 1)[1]


def test_eq_and_bandstop_match_audiomentations_and_scipy():
    settings = AugmentSettings(**{**QUIET, "eq_probability": 1.0, "bandstop_probability": 1.0})
    d = augment.draw_block(settings, np.full(3, 16000), 32000, "end", np.random.default_rng(4), 0, [])
    flags = {"eq": np.array([True, True, False]), "bandstop": np.array([False, True, True])}
    h = Augmenter._iir_impulses(d, np.arange(3), flags)
    assert np.abs(h[0] - audiomentations_eq_impulse(d, 0)).max() < 1e-4
    both = np.fft.rfft(audiomentations_eq_impulse(d, 1)) * scipy_bandstop_response(d, 1)
    assert np.abs(np.fft.rfft(h[1]) - both).max() < 0.02
    assert np.abs(np.fft.rfft(h[2]) - scipy_bandstop_response(d, 2)).max() < 0.02


def make_augmenter(device="cpu", **overrides):
    rng = np.random.default_rng(4)
    rirs = [np.exp(-np.arange(2000) / 300.0).astype(np.float32)]
    backgrounds = [rng.standard_normal(SAMPLE_RATE * 3).astype(np.float32) * 0.1]
    return Augmenter(AugmentSettings(**overrides), rirs, backgrounds, device=device)


def test_augment_shapes_rounds_and_determinism(piper_clips):
    aug = make_augmenter(pitch_probability=0.5, eq_probability=0.5, bandstop_probability=0.5, distortion_probability=0.5)
    a, source = aug.augment(piper_clips, 32000, np.random.default_rng(5), "end", rounds=2)
    b, _ = aug.augment(piper_clips, 32000, np.random.default_rng(5), "end", rounds=2)
    c, _ = aug.augment(piper_clips, 32000, np.random.default_rng(6), "end", rounds=2)
    assert a.shape == (6, 32000) and a.dtype == np.int16
    assert source.tolist() == [0, 1, 2, 0, 1, 2]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[3])  # two rounds of one clip differ
    peaks_db = 20 * np.log10(np.abs(a).max(axis=1) / 32767)
    assert np.all(peaks_db <= -0.9) and np.all(peaks_db >= -20.5)


def test_threads_do_not_change_the_output_and_block_size_does(piper_clips):
    clips = piper_clips * 12  # three blocks
    aug = make_augmenter(pitch_probability=0.5, eq_probability=0.5)
    a, _ = aug.augment(clips, 32000, np.random.default_rng(7), "random")
    aug.threads = 2
    b, _ = aug.augment(clips, 32000, np.random.default_rng(7), "random")
    aug.block_size = 5
    c, _ = aug.augment(clips, 32000, np.random.default_rng(7), "random")
    assert np.array_equal(a, b) and not np.array_equal(a, c)  # other blocks take the draws in another order


def test_torch_code_path_matches_numpy(piper_clips):
    torch = pytest.importorskip("torch")
    settings = dict(pitch_probability=0.5, eq_probability=0.5, bandstop_probability=0.5, distortion_probability=0.5, color_noise_probability=0.5)
    a, _ = make_augmenter(**settings).augment(piper_clips * 4, 32000, np.random.default_rng(8), "end")
    b, _ = make_augmenter(device=torch.device("cpu"), **settings).augment(piper_clips * 4, 32000, np.random.default_rng(8), "end")
    assert np.abs(a.astype(np.int32) - b).max() <= 8  # float rounding only


def test_background_only_clips_have_no_speech(piper_clips):
    aug = make_augmenter(background_only_fraction=1.0, color_noise_probability=0.0)
    out, _ = aug.augment(piper_clips[:1], 32000, np.random.default_rng(7), "random")
    assert out.shape == (1, 32000)
    assert np.abs(out).max() > 0  # background is there ...
    # ... and it is the background's flat spectrum, not speech energy concentrated below 4 kHz
    spec = np.abs(np.fft.rfft(out[0].astype(np.float32))) ** 2
    assert spec[len(spec) // 2 :].sum() / spec.sum() > 0.3
    assert aug.applied["silent"].all() and aug.applied["background"].all() and not aug.applied["pitch"].any()


def tone_clip(seconds=1.0, freq=300.0):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * freq * t) * 16000).astype(np.int16)


@pytest.mark.parametrize("kind", ["background", "color_noise"])
def test_noise_is_mixed_at_the_drawn_snr(kind):
    settings = {**QUIET, "background_probability": 1.0, "snr_db": (10.0, 10.0)} if kind == "background" else {
        **QUIET, "color_noise_probability": 1.0, "color_noise_snr_db": (20.0, 20.0), "color_noise_exponent": (0.0, 0.0)}  # fmt: skip
    aug = make_augmenter(**settings)
    out, _ = aug.augment([tone_clip()] * 4, 32000, np.random.default_rng(9), "end")
    assert aug.applied[kind].all()
    for row in out.astype(np.float64):
        noise_power = np.mean(row[:15000] ** 2)  # the second before the tone holds noise only
        speech_power = np.mean(row[16000:] ** 2) - noise_power
        expected = settings.get("snr_db", settings.get("color_noise_snr_db"))[0]
        assert 10 * np.log10(speech_power / noise_power) == pytest.approx(expected, abs=0.6)


def test_room_impulse_response_is_applied():
    rir = np.zeros(1200, dtype=np.float32)
    rir[0], rir[1000] = 1.0, 0.6
    aug = Augmenter(AugmentSettings(**{**QUIET, "rir_probability": 1.0}), [rir], [], device="cpu")
    clip = tone_clip(0.5)
    out, _ = aug.augment([clip], 32000, np.random.default_rng(10), "end")
    expected = augment.apply_rir(augment.place(to_float(clip), 32000, np.random.default_rng(0), "end", 0.0), rir)
    y = out[0] / np.abs(out[0]).max()
    assert np.abs(y - expected / np.abs(expected).max()).max() < 1e-3


def test_effects_are_drawn_with_the_configured_probabilities():
    settings = AugmentSettings(
        rir_probability=0.5, background_probability=0.7, color_noise_probability=0.3, eq_probability=0.25,
        bandstop_probability=0.2, pitch_probability=0.4, distortion_probability=0.1, background_only_fraction=0.1,
    )  # fmt: skip
    aug = make_augmenter(**settings.__dict__)
    n = 2000
    out, _ = aug.augment([tone_clip(0.3)] * n, 32000, np.random.default_rng(11), "random")
    assert out.shape == (n, 32000)
    applied = aug.applied
    silent = applied["silent"]
    assert silent.mean() == pytest.approx(0.1, abs=0.025)
    speech = ~silent
    for name, p in (("rir", 0.5), ("eq", 0.25), ("bandstop", 0.2), ("pitch", 0.4), ("distortion", 0.1)):
        assert applied[name][speech].mean() == pytest.approx(p, abs=0.04), name
        assert not applied[name][silent].any()
    assert applied["background"][speech].mean() == pytest.approx(0.7, abs=0.04) and applied["background"][silent].all()
    assert applied["color_noise"][speech].mean() == pytest.approx(0.3, abs=0.04)
    # each speech row with background records its SNR, within the configured range; others NaN
    snr = aug.background_snr_db
    with_snr = ~np.isnan(snr)
    assert np.array_equal(with_snr, applied["background"] & speech)
    assert snr[with_snr].min() >= settings.snr_db[0] and snr[with_snr].max() <= settings.snr_db[1]


def test_draws_follow_the_settings_ranges():
    s = AugmentSettings(pitch_semitones=(-2.0, 1.0), snr_db=(0.0, 5.0), eq_gain_db=(-6.0, 6.0), peak_dbfs=(-10.0, -3.0))
    d = augment.draw_block(s, np.full(5000, 8000), 32000, "end", np.random.default_rng(12), 3, [40000, 50000])
    assert d.semitones.min() >= -2.0 and d.semitones.max() <= 1.0 and d.semitones.std() > 0.5
    assert d.snr_db.min() >= 0.0 and d.snr_db.max() <= 5.0
    assert np.abs(d.eq_gain_db).max() <= 6.0 and d.peak_dbfs.min() >= -10.0 and d.peak_dbfs.max() <= -3.0
    for band, (lo, hi) in enumerate(augment.EQ_BANDS):
        assert lo <= d.eq_freq[:, band].min() and d.eq_freq[:, band].max() <= hi
    assert set(np.unique(d.bandstop_order)) == {2, 3, 4} and set(np.unique(d.rir_index)) == {0, 1, 2}
    lengths = np.array([40000, 50000])[d.background_index]
    assert np.all(d.background_offset + 32000 <= lengths)


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
