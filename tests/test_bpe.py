"""n2t.bpe: merges by frequency, encode/decode round trip, only unseen characters become <unk>, bad input."""

from __future__ import annotations

import pytest

from n2t.bpe import END, UNK, train_bpe
from n2t.data import wikitext2_lines


def test_the_most_frequent_pair_is_merged_first():
    words = ["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3
    bpe = train_bpe(words, 4)
    # Sennrich et al.'s example: e s (9); then t </w> and es t tie at 9 (the pair counted first wins),
    # es t</w> (9), and l o (7)
    assert bpe.merges == [("e", "s"), ("t", END), ("es", "t" + END), ("l", "o")]
    assert bpe.encode_word("newest") == ["n", "e", "w", "est" + END]
    assert bpe.encode_word("lowest") == ["lo", "w", "est" + END]


def test_round_trip_on_every_training_line():
    lines = wikitext2_lines("train", 300)
    bpe = train_bpe((w for line in lines for w in line), 300)
    for line in lines:
        assert bpe.decode(bpe.encode(line)) == line
    words = [w for line in lines for w in line]
    assert len(bpe.encode(words)) < 0.5 * sum(len(w) + 1 for w in words)  # merges shorten the text
    assert len(bpe.symbols) == len(set(bpe.symbols))


def test_an_unseen_word_is_spelled_and_an_unseen_character_is_unk():
    bpe = train_bpe(["the", "cat", "sat", "on", "the", "mat"] * 3, 10)
    assert bpe.decode(bpe.encode(["tact", "mast"])) == ["tact", "mast"]  # new words, known letters
    assert UNK in bpe.encode_word("café")
    assert UNK not in bpe.encode(["the", "cat"])


def test_bad_input_is_a_clear_error():
    bpe = train_bpe(["ab", "ab"], 1)
    with pytest.raises(TypeError, match="sequence of words"):
        bpe.encode("ab ab")
    with pytest.raises(ValueError, match="num_merges"):
        train_bpe(["ab"], -1)
    with pytest.raises(ValueError, match="words is empty"):
        train_bpe([], 3)
    with pytest.raises(ValueError, match="must end a word"):
        bpe.decode(["a"])
