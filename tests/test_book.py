"""n2t.book: numbers glued as plain values, tables that keep their tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from n2t import book


def test_plain_numbers():
    assert book.plain(np.float64(1.5)) == 1.5 and type(book.plain(np.float64(1.5))) is float
    assert book.plain(torch.tensor(3)) == 3
    with pytest.raises(ValueError, match="one-element tensor"):
        book.plain(torch.zeros(2))


def test_markdown_table_keeps_tokens_and_pipes():
    table = book.markdown_table(["token", "count"], [("<eos>", 3), ("`<unk>`", np.int64(2)), ("a|b", 1.5)])
    assert table.data.splitlines() == [
        "| token | count |",
        "|---|---|",
        "| &lt;eos&gt; | 3 |",  # escaped: the browser would otherwise swallow <eos> as an HTML tag
        "| `<unk>` | 2 |",  # code spans are left alone
        "| a\\|b | 1.5 |",
    ]
    with pytest.raises(ValueError, match="row 0 has 1 cells but the header has 2"):
        book.markdown_table(["a", "b"], [("x",)])
    with pytest.raises(ValueError, match="header"):
        book.markdown_table([], [])


def test_text_is_glued_without_quotes():
    assert repr(book.Text("beats")) == "beats"
    with pytest.raises(TypeError, match="text must be a string"):
        book.Text(3)


def test_as_code_writes_tokens_as_code_spans():
    assert book.as_code("<eos>") == "`<eos>`"
    assert book.as_code(["the", "<eos>"]) == "`the` `<eos>`"
    assert "`<eos>`" in book.markdown_table(["token"], [[book.as_code("<eos>")]]).data


def test_compare_names_a_direction_only_when_the_seeds_agree():
    from n2t.book import compare, paired_difference

    assert compare([0.80, 0.82, 0.81], [0.70, 0.71, 0.72]) == "higher"
    assert compare([0.70, 0.71, 0.72], [0.80, 0.82, 0.81]) == "lower"
    assert compare([0.80, 0.70, 0.90], [0.79, 0.78, 0.80]) == "level"  # the spread swallows the difference
    assert compare([0.9], [0.1]) == "level"  # one seed cannot tell a difference from seed noise
    mean, half = paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert mean == 2.0 and half == pytest.approx(4.303 * 1.0 / 3**0.5)
    with pytest.raises(ValueError, match="same number"):
        compare([1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="not a string"):
        compare("0.5", [0.5])
