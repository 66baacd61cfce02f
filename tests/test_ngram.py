"""Tests of n2t.ngram: hand-computed formulas, a slow pure-Python Kneser–Ney reference, properties, bad input."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from n2t.data import BOS, EOS, UNK, Vocab
from n2t.ngram import SMOOTHINGS, NGramCounts, NGramLM, vocabulary

TOY_TEXT = [
    "the cat sits on the mat",
    "the cat sits",
    "a cat sits on a mat",
    "the cat sits here",
    "my cat naps",
    "the cat eats",
    "a cat eats fish",
    "the cat runs",
    "the cat sleeps on the mat",
    "that cat purrs",
    "the dog runs",
]
TOY = [line.split() for line in TOY_TEXT]


def random_corpus(seed: int, sentences: int = 120, types: int = 12) -> list[list[str]]:
    """A small corpus with a skewed word distribution and repeated phrases (so counts 1…4+ all occur)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(types)]
    weights = [1 / (i + 1) for i in range(types)]
    corpus = []
    for _ in range(sentences):
        length = rng.randint(0, 8)  # blank lines included
        sentence = rng.choices(words, weights, k=length)
        if rng.random() < 0.3:
            sentence = ["w0", "w1", "w2", *sentence]
        corpus.append(sentence)
    return corpus


# ------------------------------------------------------------------------------------ the reference


def reference_discounts(counts: list[int]) -> tuple[float, float, float]:
    """Chen & Goodman's D1, D2, D3+ (zero-denominator ratios count as 0; Dj clipped to [0, j])."""
    n = {j: sum(1 for c in counts if c == j) for j in (1, 2, 3, 4)}

    def ratio(a, b):
        return a / b if b > 0 else 0.0

    y = ratio(n[1], n[1] + 2 * n[2])
    d1 = 1 - 2 * y * ratio(n[2], n[1]) if n[1] > 0 else 0.0
    d2 = 2 - 3 * y * ratio(n[3], n[2])
    d3 = 3 - 4 * y * ratio(n[4], n[3])
    return min(max(d1, 0), 1), min(max(d2, 0), 2), min(max(d3, 0), 3)


class ReferenceKneserNey:
    """Interpolated modified Kneser–Ney with dicts and loops: slow and obviously correct."""

    def __init__(self, sentences: list[list[str]], order: int) -> None:
        self.order = order
        self.vocab = sorted({w for s in sentences for w in s} | {EOS, UNK})
        raw = {m: Counter() for m in range(1, order + 1)}
        for sentence in sentences:
            padded = [BOS] * (order - 1) + sentence + [EOS]
            for i in range(order - 1, len(padded)):
                for m in range(1, order + 1):
                    raw[m][(tuple(padded[i - m + 1 : i]), padded[i])] += 1
        self.table = {order: dict(raw[order])}
        for m in range(1, order):
            preceding = defaultdict(set)
            for context, word in raw[m + 1]:
                preceding[(context[1:], word)].add(context[0])
            self.table[m] = {key: len(tokens) for key, tokens in preceding.items()}
        self.discounts = {m: reference_discounts(list(t.values())) for m, t in self.table.items()}

    def discount(self, m: int, c: int) -> float:
        return 0.0 if c == 0 else self.discounts[m][min(c, 3) - 1]

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        assert len(context) == self.order - 1
        p = 1 / len(self.vocab)
        for m in range(1, self.order + 1):
            history = context[len(context) - (m - 1) :] if m > 1 else ()
            entries = {w: c for (h, w), c in self.table[m].items() if h == history}
            total = sum(entries.values())
            if total == 0:
                continue  # an unseen context: the lower order speaks alone
            c = entries.get(word, 0)
            gamma = sum(self.discount(m, c2) for c2 in entries.values()) / total
            p = max(c - self.discount(m, c), 0) / total + gamma * p
        return p


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_matches_reference(order):
    corpus = random_corpus(seed=order)
    ref = ReferenceKneserNey(corpus, order)
    model = NGramLM(order, "kneser_ney").fit(corpus)
    assert sorted(model.vocab) == ref.vocab
    for m, d in ref.discounts.items():
        assert np.allclose(model.discounts[m], d, rtol=0, atol=1e-12)
    contexts = {tuple(([BOS] * (order - 1) + s)[i : i + order - 1]) for s in corpus[:40] for i in range(len(s) + 1)}
    contexts |= {("w11",) * (order - 1), ("w3", "w0", "w9")[3 - (order - 1) :] if order > 1 else ()}
    contexts.add((BOS,) * (order - 1))
    for context in sorted(contexts):
        dist = model.next_token_distribution(list(context))
        expected = np.array([ref.prob(w, context) for w in model.vocab])
        np.testing.assert_allclose(dist, expected, rtol=0, atol=1e-12)
        assert math.isclose(dist.sum(), 1.0, abs_tol=1e-9)


def test_reference_itself_is_a_distribution():
    ref = ReferenceKneserNey(random_corpus(seed=9), 3)
    for context in [(BOS, BOS), ("w0", "w1"), ("w5", "w5")]:
        assert math.isclose(sum(ref.prob(w, context) for w in ref.vocab), 1.0, abs_tol=1e-12)


# ------------------------------------------------------------------------------------ hand formulas


def test_mle_and_laplace_by_hand_on_toy_corpus():
    counts = NGramCounts(TOY, 2)
    c_cat, c_cat_sits = counts.count(["cat"]), counts.count(["cat", "sits"])
    assert (c_cat_sits, c_cat) == (4, 10)
    mle = NGramLM(2, "mle").fit(TOY)
    assert math.isclose(math.exp(mle.logprob("sits", ["cat"])), 4 / 10, rel_tol=1e-12)
    laplace = NGramLM(2, "add_k", k=1).fit(TOY)
    V = len(vocabulary(TOY))
    assert V == laplace.vocab_size == len({w for s in TOY for w in s}) + 2  # + <unk>, <eos>
    assert math.isclose(math.exp(laplace.logprob("sits", ["cat"])), (4 + 1) / (10 + V), rel_tol=1e-12)
    assert math.isclose(math.exp(laplace.logprob("dog", ["cat"])), (0 + 1) / (10 + V), rel_tol=1e-12)
    add_half = NGramLM(2, "add_k", k=0.5).fit(TOY)
    assert math.isclose(math.exp(add_half.logprob("sits", ["cat"])), 4.5 / (10 + 0.5 * V), rel_tol=1e-12)
    # an unseen context under add-k: (0 + k) / (0 + k|V|), the uniform distribution
    assert math.isclose(math.exp(laplace.logprob("sits", ["unicorn"])), 1 / V, rel_tol=1e-12)


def test_counts_pad_with_bos_and_predict_eos():
    counts = NGramCounts(TOY, 3)
    assert counts.count([BOS, BOS, "the"]) == 7
    assert counts.count([BOS, "the"]) == 7
    assert counts.count(["sits", EOS]) == 1
    assert counts.count([EOS]) == len(TOY)
    assert counts.count([BOS]) == 0  # never predicted
    assert counts.tokens == sum(len(s) + 1 for s in TOY)
    assert counts.types(1) == len(vocabulary(TOY)) - 1  # <unk> never occurs


def test_evaluation_counts_every_word_and_one_eos_per_line():
    model = NGramLM(2).fit(TOY)
    test = [["the", "cat"], [], ["unknown", "words", "here"]]
    result = model.perplexity(test)
    assert result.tokens == 2 + 3 + 3
    logp = model.token_logprobs(test)
    by_hand = [
        model.logprob("the", []),
        model.logprob("cat", ["the"]),
        model.logprob(EOS, ["cat"]),
        model.logprob(EOS, []),
        model.logprob(UNK, []),
        model.logprob("words", ["unknown"]),  # unknown words read as <unk>
        model.logprob("here", [UNK]),
        model.logprob(EOS, ["here"]),
    ]
    np.testing.assert_allclose(logp, by_hand, rtol=0, atol=1e-12)
    assert math.isclose(result.nll, -sum(by_hand), rel_tol=1e-12)
    assert math.isclose(result.perplexity, math.exp(-sum(by_hand) / 8), rel_tol=1e-12)
    assert math.isclose(result.cross_entropy, math.log2(result.perplexity), rel_tol=1e-12)


def test_uniform_model_has_perplexity_vocab_size():
    model = NGramLM(3, "interpolation", lambdas=[1, 0, 0, 0]).fit(TOY)
    assert math.isclose(model.perplexity(TOY).perplexity, model.vocab_size, rel_tol=1e-12)


def test_mle_gives_infinite_perplexity_on_unseen_ngram():
    model = NGramLM(2, "mle").fit(TOY)
    assert model.logprob("dog", ["cat"]) == -math.inf
    assert model.perplexity([["the", "cat", "barks"]]).perplexity == math.inf
    assert math.isfinite(NGramLM(1, "mle").fit(TOY).perplexity([["the", "dog", "sits"]]).perplexity)


# ------------------------------------------------------------------------------------ properties


def _assert_distributions(model: NGramLM, corpus: list[list[str]]) -> None:
    n = model.order - 1
    seen = ([BOS] * n + corpus[0] + [EOS])[:n] if n else []
    later = ([BOS] * n + corpus[0])[-n:] if n else []
    for context in (seen, later, ["never-seen"] * n, [BOS] * n, []):
        dist = model.next_token_distribution(context)
        assert dist.dtype == np.float64 and dist.shape == (model.vocab_size,)
        assert (dist >= 0).all()
        assert abs(dist.sum() - 1.0) < 1e-9, (model, context, dist.sum())


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_distributions_sum_to_one(smoothing, order):
    corpus = random_corpus(seed=order + 10)
    model = NGramLM(order, smoothing, k=0.1).fit(corpus, heldout=random_corpus(seed=99, sentences=30))
    _assert_distributions(model, corpus)


@settings(max_examples=25, deadline=None)
@given(
    corpus=st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "<unk>"]), max_size=6), min_size=1, max_size=8),
    order=st.integers(1, 4),
    smoothing=st.sampled_from(SMOOTHINGS),
)
def test_distributions_sum_to_one_on_any_corpus(corpus, order, smoothing):
    model = NGramLM(order, smoothing, k=0.5).fit(corpus, heldout=corpus)
    _assert_distributions(model, corpus or [[]])


def test_interpolation_weights_are_tuned_by_em():
    train, heldout = random_corpus(seed=1), random_corpus(seed=2, sentences=60)
    model = NGramLM(3, "interpolation").fit(train, heldout=heldout)
    assert model.lambdas.shape == (4,) and math.isclose(model.lambdas.sum(), 1.0, abs_tol=1e-12)
    even = NGramLM(3, "interpolation", lambdas=[0.25] * 4).fit(train)
    assert model.perplexity(heldout).perplexity <= even.perplexity(heldout).perplexity


def test_counts_are_reused_across_orders_and_methods():
    corpus, test = random_corpus(seed=3), random_corpus(seed=4, sentences=20)
    counts = NGramCounts(corpus, 5)
    for order in (1, 3, 4):
        for smoothing in SMOOTHINGS:
            a = NGramLM(order, smoothing).fit(counts, heldout=test)
            b = NGramLM(order, smoothing).fit(corpus, heldout=test)
            np.testing.assert_allclose(a.token_logprobs(test), b.token_logprobs(test), rtol=0, atol=1e-12)


def test_unseen_rate_grows_with_order():
    counts = NGramCounts(random_corpus(seed=5), 4)
    rates = counts.unseen_rate(random_corpus(seed=6, sentences=40))
    assert rates.shape == (4,) and rates[0] == 0.0 and (np.diff(rates) >= 0).all()


def test_given_vocab_fixes_the_predicted_types():
    vocab = Vocab(["the", "cat", "cat"])  # default specials include <pad> and <bos>: never predicted
    model = NGramLM(2).fit(TOY, vocab=vocab)
    assert sorted(model.vocab) == sorted(["the", "cat", UNK, EOS])
    assert math.isclose(model.next_token_distribution(["sits"]).sum(), 1.0, abs_tol=1e-12)


def test_generate_is_reproducible_and_stays_in_vocabulary():
    model = NGramLM(3).fit(TOY)
    a = model.generate(max_words=20, seed=1)
    assert a == model.generate(max_words=20, seed=1)
    assert len(a) <= 20 and set(a) <= set(model.vocab) - {EOS}
    cold = NGramLM(3, "mle").fit(TOY).generate(max_words=5, temperature=0.01, context=["the"], seed=3)
    assert cold[:2] == ["cat", "sits"]  # near-greedy: the most likely continuation


# ------------------------------------------------------------------------------------ bad input


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, "witten_bell")
    for k in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="k must be a positive"):
            NGramLM(2, "add_k", k=k)
    with pytest.raises(ValueError, match="lambdas"):
        NGramLM(2, "interpolation", lambdas=[0.5, 0.5])
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramLM(2).logprob("cat", ["the"])
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramLM(2).perplexity(TOY)
    with pytest.raises(ValueError, match="empty"):
        NGramLM(2).fit([])
    with pytest.raises(TypeError, match="list of tokens"):
        NGramLM(2).fit(["the cat sits"])
    with pytest.raises(TypeError, match="list of sentences"):
        NGramLM(2).fit("the cat sits")
    with pytest.raises(ValueError, match="heldout"):
        NGramLM(2, "interpolation").fit(TOY)
    model = NGramLM(3).fit(TOY)
    with pytest.raises(ValueError, match="at most 2"):
        model.logprob("sits", ["the", "black", "cat"])
    with pytest.raises(ValueError, match="at most 2"):
        model.next_token_distribution(["a", "b", "c"])
    with pytest.raises(TypeError, match="not a string"):
        model.next_token_distribution("the cat")
    with pytest.raises(ValueError, match="never predicted"):
        model.logprob(BOS, ["the"])
    with pytest.raises(ValueError, match="temperature"):
        model.generate(temperature=0)
    with pytest.raises(ValueError, match="order 2 cannot fit"):
        NGramLM(3).fit(NGramCounts(TOY, 2))
    with pytest.raises(ValueError, match="empty"):
        model.perplexity([])


def test_preceding_types_are_continuation_counts():
    counts = NGramCounts(TOY, 2)
    preceding = counts.preceding_types()
    assert preceding[counts.stoi["cat"]] == len({"the", "a", "my", "that"})
    assert preceding[counts.stoi["the"]] == len({BOS, "on"})
    with pytest.raises(ValueError, match="order >= 2"):
        NGramCounts(TOY, 1).preceding_types()
