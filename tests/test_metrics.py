"""Metrics (n2t.metrics): BLEU and chrF through sacrebleu, and BLEU by source length."""

from __future__ import annotations

import math

import pytest
import sacrebleu

from n2t import metrics


def test_bleu_of_a_hand_computed_case():
    # One sentence, 5 words, the last one wrong: n-gram precisions 4/5, 3/4, 2/3, 1/2 and no brevity penalty.
    expected = 100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** (1 / 4)
    assert metrics.bleu(["a b c d e"], ["a b c d f"]) == pytest.approx(expected, abs=1e-6)


def test_corpus_bleu_pools_counts_over_sentences_and_pairs_each_hypothesis_with_its_reference():
    hyps = ["the cat sat on the mat .", "a dog barked at the moon ."]
    assert metrics.bleu(hyps, hyps) == pytest.approx(100.0)
    assert metrics.chrf(hyps, hyps) == pytest.approx(100.0)
    # The references in the wrong order (a classic mistake: passing references as one stream per sentence).
    assert metrics.bleu(hyps, hyps[::-1]) < 20
    # Pooled counts: the corpus score is not the mean of the sentence scores.
    refs = ["the cat sat on the mat .", "a dog barked at the sun ."]
    pooled = sacrebleu.corpus_bleu(hyps, [refs], lowercase=True).score
    assert metrics.bleu(hyps, refs) == pytest.approx(pooled)
    mean = sum(sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(hyps, refs, strict=True)) / 2
    assert not math.isclose(pooled, mean)


def test_bleu_tokenises_detokenised_text_itself():
    # sacrebleu's 13a tokenizer splits the full stop and the comma off the words.
    assert metrics.bleu(["Yes, I am here."], ["Yes , I am here ."]) == pytest.approx(100.0)


def test_scores_ignore_case_unless_asked():
    assert metrics.bleu(["i am tom ."], ["I am Tom."]) == pytest.approx(100.0)
    assert metrics.bleu(["i am tom ."], ["I am Tom."], lowercase=False) < 100
    assert metrics.chrf(["i am tom."], ["I am Tom."]) == pytest.approx(100.0)
    assert metrics.chrf(["i am tom."], ["I am Tom."], lowercase=False) < 100


def test_an_unk_counts_as_one_wrong_word():
    # sacreBLEU's tokenizer alone would split "<unk>" into "<", "unk", ">": three wrong tokens, not one
    reference = ["I saw him yesterday."]
    one_wrong_word = metrics.bleu(["I saw xyz yesterday."], reference)
    assert metrics.bleu(["I saw <unk> yesterday."], reference) == pytest.approx(one_wrong_word)
    assert sacrebleu.corpus_bleu(["I saw <unk> yesterday."], [reference]).score < one_wrong_word - 5
    assert metrics.chrf(["<unk> am here."], ["I am here."]) == pytest.approx(metrics.chrf(["\u2047 am here."],
                                                                                      ["I am here."]))
    assert metrics.bleu(["<unk> <unk>"], ["unk unk"]) == 0.0  # it matches no reference word


def test_signatures_say_how_the_scores_were_computed():
    bleu = metrics.signature("bleu")
    assert bleu.startswith("nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:")
    assert "case:mixed" in metrics.signature("bleu", lowercase=False)
    assert metrics.signature("chrf").startswith("nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:")
    with pytest.raises(ValueError, match="metric must be one of"):
        metrics.signature("meteor")


def test_bleu_by_length_buckets_the_sentences():
    hyps = ["a b c d", "x y", "a b c d e f g", "p q r s"]
    refs = ["a b c d", "u v", "a b c d e f g", "p q r s"]
    rows = metrics.bleu_by_length(hyps, refs, source_lengths=[3, 4, 9, 12], edges=[1, 5, 10])
    assert [(label, n) for label, n, _ in rows] == [("1–4", 2), ("5–9", 1), ("10+", 1)]
    assert rows[1][2] == pytest.approx(100.0) and rows[2][2] == pytest.approx(100.0)
    assert rows[0][2] == pytest.approx(metrics.bleu(hyps[:2], refs[:2]))
    finer = metrics.bleu_by_length(hyps, refs, [3, 4, 9, 12], edges=[1, 5, 8, 9, 10])
    assert [(label, n) for label, n, _ in finer] == [("1–4", 2), ("9–9", 1), ("10+", 1)]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="one entry per sentence"):
        metrics.bleu(["a"], ["a", "b"])
    with pytest.raises(TypeError, match="hypotheses must be a list of strings"):
        metrics.bleu("a b", ["a b"])
    with pytest.raises(TypeError, match="references must be a list of strings"):
        metrics.chrf(["a b"], [["a b"]])
    with pytest.raises(ValueError, match="empty"):
        metrics.bleu([], [])
    with pytest.raises(ValueError, match="strictly increasing"):
        metrics.bleu_by_length(["a"], ["a"], [1], edges=[5, 1])
    with pytest.raises(ValueError, match="source_lengths"):
        metrics.bleu_by_length(["a"], ["a"], [1, 2], edges=[1])
