import numpy as np

from wakeforge import texts


def test_positive_texts_all_say_the_phrase():
    lines = texts.positive_texts("Hey Saga", 50, np.random.default_rng(0))
    assert len(lines) == 50 and len(set(lines)) > 3
    assert all(texts.contains_phrase(line, "hey saga") for line in lines)


def test_contains_phrase_whole_words_only():
    assert texts.contains_phrase("well, hey saga!", "hey saga")
    assert not texts.contains_phrase("hey sagas", "hey saga")
    assert not texts.contains_phrase("they saga", "hey saga")


def test_shard_slices_cover_everything_once():
    items = list(range(103))
    parts = [texts.shard_slice(items, i, 6) for i in range(6)]
    assert sum(parts, []) == items
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_lines_round_trip(tmp_path):
    texts.write_lines(tmp_path / "t.txt", ["a b", "c\nd", ""])
    assert texts.read_lines(tmp_path / "t.txt") == ["a b", "c d"]


def test_drop_phrase_removes_rows_that_say_it():
    rows = np.arange(3)
    kept, dropped = texts.drop_phrase(rows, ["hello there", "ok hey saga now", "hey sagas"], "hey saga")
    assert kept.tolist() == [0, 2] and dropped == 1
