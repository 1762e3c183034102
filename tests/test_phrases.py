"""Text-side tests: normalisation, phonetic neighbours, adversarial phrases, negative sentences, word list."""

import re
import time

import numpy as np
import pytest

from wakeforge import phrases as P
from wakeforge.errors import WakeforgeError


def rng(seed=0):
    return np.random.default_rng(seed)


# -- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Hey,   SAGA! ", "hey saga"),
        ("Don't stop", "don't stop"),
        ("'quoted' words", "quoted words"),
        ("Café-Bot", "cafe bot"),
        ("ok\tgoogle\n", "ok google"),
        ("Don\u2019t stop", "don't stop"),
    ],
)
def test_normalize_phrase(raw, expected):
    assert P.normalize_phrase(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "?!.", "--"])
def test_normalize_phrase_empty_names_config_key(raw):
    with pytest.raises(WakeforgeError, match="target_phrase"):
        P.normalize_phrase(raw)


def test_model_name():
    assert P.model_name("Hey, Saga!") == "hey_saga"
    assert P.model_name("don't stop") == "dont_stop"
    assert P.model_name("Café-Bot 2") == "cafe_bot_2"
    assert re.fullmatch(r"[a-z0-9_]+", P.model_name("  Ünïcödé   phrase!! "))


# -- phonemes -----------------------------------------------------------------------------------


def test_phoneme_distance():
    saga = ["S", "AA1", "G", "AH0"]
    assert P.phoneme_distance(saga, ["S", "AA0", "G", "AH1"]) == 0  # stress-insensitive
    assert P.phoneme_distance(saga, ["S", "AA1", "G", "IY0"]) == pytest.approx(0.6)  # soggy: vowel for vowel
    assert P.phoneme_distance(saga, ["S", "AA1", "G", "AH0", "Z"]) == pytest.approx(1.0)  # sagas
    assert P.phoneme_distance(["P"], ["B"]) < P.phoneme_distance(["P"], ["M"])


def test_word_neighbours_are_phonetic_and_fast():
    P.word_neighbours("saga")  # builds the index once
    t0 = time.perf_counter()
    saga = dict(P.word_neighbours("saga"))
    hey = dict(P.word_neighbours("hey"))
    assert time.perf_counter() - t0 < 2.0
    assert {"soggy", "sega", "sagas"} <= set(saga)
    assert {"hay", "hi", "say"} <= set(hey)
    assert hey["hay"] == 0  # homophone word: allowed as a word, never as the whole phrase
    assert "saga" not in saga and "hey" not in hey


# -- adversarial phrases ------------------------------------------------------------------------


def test_adversarial_phrases_hey_saga():
    out = P.adversarial_phrases("hey saga", 300, rng(1))
    assert len(out) == 300
    assert all(p == P.normalize_phrase(p) for p in out)
    assert "hey saga" not in out
    assert "hay saga" not in out and "haye saga" not in out  # homophones (HH EY S AA G AH)
    assert not any(P.is_homophone(p, "hey saga") for p in out)
    pool = set(out)
    assert "hey soggy" in pool or "hay soggy" in pool
    assert {"hey", "saga"} <= pool  # partial phrases
    assert "hey sagan" in pool  # across a word boundary
    assert any(p.startswith("hey ") and p != "hey saga" for p in pool)
    assert any(p.endswith(" saga") for p in pool)


def test_adversarial_weights_prefer_close_neighbours():
    weights = dict(P.adversarial_candidates("hey saga"))
    assert abs(sum(weights.values()) - 1) < 1e-9
    assert weights["hey soggy"] > weights["hey foggy"]  # 0.6 vs 1.2 phoneme edits
    assert weights["hey sega"] > weights["hey soda"]
    # sampling follows the weights
    counts = {}
    for p in P.adversarial_phrases("hey saga", 4000, rng(2)):
        counts[p] = counts.get(p, 0) + 1
    assert counts["hey soggy"] > counts.get("hey foggy", 0)
    assert counts["saga"] > np.median(list(counts.values()))


def test_adversarial_without_replacement_when_pool_suffices():
    out = P.adversarial_phrases("hey saga", 50, rng(3))
    assert len(out) == len(set(out)) == 50


def test_adversarial_custom_first_and_deterministic():
    custom = ["Hey Sagittarius!", "hey sagas"]
    a = P.adversarial_phrases("hey saga", 40, rng(4), custom=custom)
    b = P.adversarial_phrases("hey saga", 40, rng(4), custom=custom)
    c = P.adversarial_phrases("hey saga", 40, rng(5), custom=custom)
    assert a[:2] == ["hey sagittarius", "hey sagas"]
    assert a == b and a != c
    assert P.adversarial_phrases("hey saga", 1, rng(4), custom=custom) == ["hey sagittarius"]
    with pytest.raises(WakeforgeError, match="custom_negative_phrases.*target phrase itself"):
        P.adversarial_phrases("hey saga", 10, rng(), custom=["Hey, Saga"])


def test_adversarial_oov_target():
    assert P.pronunciations("zorblax") == ()
    out = P.adversarial_phrases("hey zorblax", 100, rng(6))
    assert len(out) == 100 and "hey zorblax" not in out
    pool = set(out)
    assert "zorblax" in pool and "hey" in pool
    assert any(p.startswith("hey ") and p != "hey zorblax" for p in pool)  # spelling-level variants
    single = P.adversarial_phrases("zorblax", 20, rng(6))
    assert len(single) == 20 and "zorblax" not in single


@pytest.mark.parametrize("target", ["x", "qzx", "7", "don't stop", "ok google computer"])
def test_adversarial_odd_targets_do_not_crash(target):
    out = P.adversarial_phrases(target, 15, rng(7))
    assert len(out) == 15
    assert P.normalize_phrase(target) not in out


# -- negative sentences and the word list ---------------------------------------------------------


def test_random_sentences_exclude_target_and_homophones():
    words = ["hey", "saga", "hay", "the", "a", "of", "and", "to"]
    out = P.random_sentences(words, 600, rng(8), min_words=2, max_words=5, exclude="Hey Saga")
    assert len(out) == 600
    assert not any("hey saga" in s or "hay saga" in s for s in out)
    assert all(2 <= len(s.split()) <= 5 for s in out)
    assert any("hey" in s.split() and "saga" in s.split() for s in out)  # the words alone are fine
    assert out == P.random_sentences(words, 600, rng(8), min_words=2, max_words=5, exclude="hey saga")


def test_random_sentences_prefer_common_words():
    words = [f"w{i}" for i in range(200)]
    toks = " ".join(P.random_sentences(words, 500, rng(9))).split()
    assert toks.count("w0") > toks.count("w100") * 5


def test_build_and_load_word_list(tmp_path):
    path = tmp_path / "lists" / "words.txt"
    words = P.build_word_list(path, 500)
    assert len(words) == 500 and len(set(words)) == 500
    assert words[0] == "the"
    assert all(w.isalpha() and P.pronunciations(w) for w in words)
    assert P.load_word_list(path) == words
    assert [p.name for p in path.parent.iterdir()] == ["words.txt"]  # no temporary left behind
    with pytest.raises(WakeforgeError, match="missing.txt"):
        P.load_word_list(tmp_path / "missing.txt")
