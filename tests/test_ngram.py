"""Tests of n2t.ngram: hand-computed formulas, a slow pure-Python Kneser–Ney reference, properties, bad input."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from n2t.counting import NGramCounts, vocabulary
from n2t.ngram import SMOOTHINGS, Evaluation, NGramLM, UniformLM
from n2t.text import BOS, EOS, UNK, Vocab

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


def random_corpus(seed: int, lines: int = 120, types: int = 12) -> list[list[str]]:
    """A small corpus with a skewed word distribution and repeated phrases (so counts 1…4+ all occur)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(types)]
    weights = [1 / (i + 1) for i in range(types)]
    corpus = []
    for _ in range(lines):
        length = rng.randint(0, 8)  # blank lines included
        line = rng.choices(words, weights, k=length)
        if rng.random() < 0.3:
            line = ["w0", "w1", "w2", *line]
        corpus.append(line)
    return corpus


def make_model(order: int, smoothing: str, train, heldout) -> NGramLM:
    """A fitted model of each method, given only the arguments that method uses."""
    if smoothing == "interpolation":
        return NGramLM(order, smoothing).fit(train, heldout=heldout)
    return NGramLM(order, smoothing, k=0.5 if smoothing == "add_k" else None).fit(train)


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
    """Interpolated modified Kneser–Ney with dicts and loops: slow and obviously correct.

    The highest order discounts raw counts; the lower orders discount continuation counts N1+(• h w), except
    for n-grams that begin with <bos>, which nothing can precede: they keep their raw counts (KenLM). KenLM
    starts a line with one <s>: a context that begins with <bos> <bos> is the same line start as its suffix, so
    its level is skipped and its n-grams are left out of the count-of-counts.
    """

    def __init__(self, lines: list[list[str]], order: int) -> None:
        self.order = order
        self.vocab = sorted({w for s in lines for w in s} | {EOS, UNK})
        raw = {m: Counter() for m in range(1, order + 1)}
        for line in lines:
            padded = [BOS] * (order - 1) + line + [EOS]
            for i in range(order - 1, len(padded)):
                for m in range(1, order + 1):
                    raw[m][(tuple(padded[i - m + 1 : i]), padded[i])] += 1
        self.table = {order: dict(raw[order])}
        for m in range(1, order):
            preceding = defaultdict(set)
            for context, word in raw[m + 1]:
                preceding[(context[1:], word)].add(context[0])
            self.table[m] = {
                (h, w): raw[m][h, w] if h[:1] == (BOS,) else len(tokens) for (h, w), tokens in preceding.items()
            }
        self.discounts = {
            m: reference_discounts([c for (h, _), c in t.items() if not self.padding(h)]) for m, t in self.table.items()
        }

    @staticmethod
    def padding(history: tuple[str, ...]) -> bool:
        return history[:2] == (BOS, BOS)

    def discount(self, m: int, c: int) -> float:
        return 0.0 if c == 0 else self.discounts[m][min(c, 3) - 1]

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        assert len(context) == self.order - 1
        p = 1 / len(self.vocab)
        for m in range(1, self.order + 1):
            history = context[len(context) - (m - 1) :] if m > 1 else ()
            entries = {w: c for (h, w), c in self.table[m].items() if h == history}
            total = sum(entries.values())
            if total == 0 or self.padding(history):
                continue  # an unseen context, or <bos> padding: the lower order speaks alone
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


def test_kneser_ney_keeps_raw_counts_for_ngrams_that_begin_with_bos():
    """A trigram model on six lines, worked out by hand with fractions.

    Lines: "a", "a", "b", "a b", "", "" — padded: <bos> <bos> a <eos>, …; |V| = 4 (a, b, <eos>, <unk>).

    Unigrams: N1+(• w) = 1 for a ({<bos>}), 2 for b ({<bos>, a}), 3 for <eos> ({a, b, <bos>}), 0 for <unk>:
    n1..n4 = 1, 1, 1, 0, so Y = 1/3, D1 = 1/3, D2 = 1, D3+ = 3. Total 6, γ1 = (1/3 + 1 + 3)/6 = 13/18:
    p1(a) = (2/3)/6 + (13/18)(1/4) = 21/72, p1(b) = 1/6 + 13/72 = 25/72, p1(<eos>) = p1(<unk>) = 13/72.

    Bigrams. Nothing precedes <bos>, so (<bos> a), (<bos> <eos>), (<bos> b) keep their raw counts 3, 2, 1
    (continuation counts would give 1, 1, 1); the others get N1+(• h w): (a <eos>) 1 ({<bos>}), (a b) 1
    ({<bos>}), (b <eos>) 2 ({<bos>, a}). Counts 3, 2, 1, 1, 1, 2: n1..n4 = 3, 2, 1, 0, so Y = 3/7,
    D1 = 1 - 2·(3/7)·(2/3) = 3/7, D2 = 2 - 3·(3/7)·(1/2) = 19/14, D3+ = 3.
    After <bos> (a 3, <eos> 2, b 1; total 6): γ2 = (3 + 19/14 + 3/7)/6 = 67/84, and
    p2(a) = 0 + (67/84)(21/72) = 1407/6048, p2(b) = (4/7)/6 + (67/84)(25/72) = 2251/6048,
    p2(<eos>) = (9/14)/6 + (67/84)(13/72) = 1519/6048, p2(<unk>) = (67/84)(13/72) = 871/6048.
    After a ((a <eos>) 1, (a b) 1; total 2): γ2 = (3/7 + 3/7)/2 = 3/7, and p2(b) = (4/7)/2 + (3/7)(25/72) =
    73/168, p2(<eos>) = 2/7 + (3/7)(13/72) = 61/168, p2(a) = (3/7)(21/72) = 21/168, p2(<unk>) = 13/168.

    Trigrams. Contexts <bos> <bos> are padding (KenLM has one <s>): p3(w | <bos> <bos>) = p2(w | <bos>), and
    their trigrams stay out of the count-of-counts. The others: (<bos> a <eos>) 2, (<bos> b <eos>) 1,
    (<bos> a b) 1, (a b <eos>) 1: n1..n4 = 3, 1, 0, 0, so Y = 3/5, D1 = 1 - 2·(3/5)·(1/3) = 3/5,
    D2 = 2 - 0 = 2, D3+ = 3 - 0 = 3 (a ratio 0/0 counts as 0). After <bos> a (<eos> 2, b 1; total 3):
    γ3 = (2 + 3/5)/3 = 13/15, and p3(b) = (2/5)/3 + (13/15)(73/168) = 257/504, p3(<eos>) = 0 + (13/15)(61/168)
    = 793/2520, p3(a) = (13/15)(21/168) = 13/120, p3(<unk>) = (13/15)(13/168) = 169/2520.
    """
    lines = [["a"], ["a"], ["b"], ["a", "b"], [], []]
    model = NGramLM(3, "kneser_ney").fit(lines)
    assert model.discounts[3] == pytest.approx((3 / 5, 2, 3), abs=1e-12)
    assert model.discounts[2] == pytest.approx((3 / 7, 19 / 14, 3), abs=1e-12)
    assert model.discounts[1] == pytest.approx((1 / 3, 1, 3), abs=1e-12)
    expected = {
        (BOS, BOS): {"a": 1407 / 6048, "b": 2251 / 6048, EOS: 1519 / 6048, UNK: 871 / 6048},
        (BOS, "a"): {"a": 13 / 120, "b": 257 / 504, EOS: 793 / 2520, UNK: 169 / 2520},
        ("b", "a"): {"a": 21 / 168, "b": 73 / 168, EOS: 61 / 168, UNK: 13 / 168},  # unseen: the bigram level
    }
    for context, by_hand in expected.items():
        assert math.isclose(sum(by_hand.values()), 1.0, rel_tol=1e-12)
        dist = model.next_token_distribution(list(context))
        np.testing.assert_allclose(dist, [by_hand[w] for w in model.vocab], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(model.next_token_distribution([]), model.next_token_distribution([BOS, BOS]))
    counts, V = model.counts, model.vocab_size
    names = [*counts.itos, BOS]
    oldest = counts.ctx_keys[1][counts.gram_keys[1] // V] % (V + 1)
    adjusted = zip(oldest, counts.gram_keys[1] % V, model.kneser_ney_counts(2), strict=True)
    assert {(names[h], names[w]): int(c) for h, w, c in adjusted} == {
        (BOS, "a"): 3, (BOS, EOS): 2, (BOS, "b"): 1, ("a", EOS): 1, ("a", "b"): 1, ("b", EOS): 2
    }
    assert sorted(counts.leading_bos(2)) == [0, 1, 1, 2]  # contexts a b, <bos> a, <bos> b, <bos> <bos>


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
    result = model.evaluate(test)
    assert isinstance(result, Evaluation) and result.tokens == 2 + 3 + 3
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
    ppl = model.perplexity(test)
    assert type(ppl) is float and ppl == result.perplexity


def test_uniform_model_has_perplexity_vocab_size():
    model = UniformLM().fit(TOY)
    unseen = [["a", "dog", "barks", "at", "the", "moon"], [], ["purrs"]]
    for text in (TOY, unseen):
        assert math.isclose(model.perplexity(text), model.vocab_size, rel_tol=1e-12)
    assert model.vocab_size == len(vocabulary(TOY))
    np.testing.assert_array_equal(model.next_token_distribution(), np.full(model.vocab_size, 1 / model.vocab_size))
    # the same as interpolation with all its weight on the uniform distribution, and as add-k with a huge k
    mixture = NGramLM(3, "interpolation", lambdas=[1, 0, 0, 0]).fit(TOY)
    np.testing.assert_allclose(model.token_logprobs(unseen), mixture.token_logprobs(unseen), rtol=0, atol=1e-12)
    assert repr(model) == f"UniformLM(vocab_size={model.vocab_size})"
    assert repr(UniformLM()) == "UniformLM(unfitted)"
    counts = NGramCounts(TOY, 3, vocab=["the", "cat"])
    assert UniformLM().fit(counts).perplexity(TOY) == pytest.approx(4, rel=1e-12)  # the, cat, <unk>, <eos>


def test_mle_gives_infinite_perplexity_on_unseen_ngram():
    model = NGramLM(2, "mle").fit(TOY)
    assert model.logprob("dog", ["cat"]) == -math.inf
    assert model.perplexity([["the", "cat", "barks"]]) == math.inf
    assert math.isfinite(NGramLM(1, "mle").fit(TOY).perplexity([["the", "dog", "sits"]]))


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
    model = make_model(order, smoothing, corpus, heldout=random_corpus(seed=99, lines=30))
    _assert_distributions(model, corpus)


def test_uniform_distribution_sums_to_one():
    corpus = random_corpus(seed=10)
    _assert_distributions(UniformLM().fit(corpus), corpus)


@settings(max_examples=25, deadline=None)
@given(
    corpus=st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "<unk>"]), max_size=6), min_size=1, max_size=8),
    order=st.integers(1, 4),
    smoothing=st.sampled_from(SMOOTHINGS),
)
def test_distributions_sum_to_one_on_any_corpus(corpus, order, smoothing):
    model = make_model(order, smoothing, corpus, heldout=corpus)
    _assert_distributions(model, corpus)


def test_interpolation_weights_are_tuned_by_em():
    train, heldout = random_corpus(seed=1), random_corpus(seed=2, lines=60)
    model = NGramLM(3, "interpolation").fit(train, heldout=heldout)
    assert model.lambdas.shape == (4,) and math.isclose(model.lambdas.sum(), 1.0, abs_tol=1e-12)
    even = NGramLM(3, "interpolation", lambdas=[0.25] * 4).fit(train)
    assert model.perplexity(heldout) <= even.perplexity(heldout)
    np.testing.assert_array_equal(even.lambdas, [0.25] * 4)  # given weights are kept


def test_counts_are_reused_across_orders_and_methods():
    corpus, test = random_corpus(seed=3), random_corpus(seed=4, lines=20)
    counts = NGramCounts(corpus, 5)
    for order in (1, 3, 4):
        for smoothing in SMOOTHINGS:
            a = make_model(order, smoothing, counts, heldout=test)
            b = make_model(order, smoothing, corpus, heldout=test)
            np.testing.assert_allclose(a.token_logprobs(test), b.token_logprobs(test), rtol=0, atol=1e-12)


def test_unseen_rate_grows_with_order():
    counts = NGramCounts(random_corpus(seed=5), 4)
    rates = counts.unseen_rate(random_corpus(seed=6, lines=40))
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


@pytest.mark.parametrize("order", [1, 2, 3])
def test_generate_conditions_on_the_last_order_minus_one_tokens(order):
    model = NGramLM(order).fit(TOY)
    long_context = ["my", "dog", "naps", "on", "the", "cat"]
    for seed in range(5):
        expected = model.generate(max_words=8, seed=seed, context=long_context[len(long_context) - (order - 1) :])
        assert model.generate(max_words=8, seed=seed, context=long_context) == expected
    # near-greedy MLE after "... dog runs on the": "on the" → mat, "the" → cat, () → <eos> (11 of 55 tokens)
    greedy = NGramLM(order, "mle").fit(TOY).generate(5, temperature=0.01, context=["dog", "runs", "on", "the"])
    assert greedy[:1] == {1: [], 2: ["cat"], 3: ["mat"]}[order]


# ------------------------------------------------------------------------------------ bad input


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, "witten_bell")
    for k in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="k must be a positive"):
            NGramLM(2, "add_k", k=k)
    with pytest.raises(ValueError, match="lambdas"):
        NGramLM(2, "interpolation", lambdas=[0.5, 0.5])
    for smoothing in ("mle", "interpolation", "kneser_ney"):
        with pytest.raises(ValueError, match=rf"^k is the pseudo-count of add-k smoothing; smoothing '{smoothing}'"):
            NGramLM(2, smoothing, k=0.5)
    for smoothing in ("mle", "add_k", "kneser_ney"):
        with pytest.raises(ValueError, match=rf"^lambdas are the weights of interpolation; smoothing '{smoothing}'"):
            NGramLM(1, smoothing, lambdas=[0.5, 0.5])
    for model in (NGramLM(2, "kneser_ney"), NGramLM(2, "interpolation", lambdas=[0.2, 0.3, 0.5]), UniformLM()):
        with pytest.raises(ValueError, match="heldout lines only tune interpolation weights"):
            model.fit(TOY, heldout=TOY)
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramLM(2).logprob("cat", ["the"])
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramLM(2).perplexity(TOY)
    with pytest.raises(RuntimeError, match="UniformLM is not fitted"):
        UniformLM().perplexity(TOY)
    with pytest.raises(ValueError, match="empty"):
        NGramLM(2).fit([])
    with pytest.raises(TypeError, match="list of tokens"):
        NGramLM(2).fit(["the cat sits"])
    with pytest.raises(TypeError, match="list of lines"):
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


def test_count_helpers_reject_bad_orders():
    model = NGramLM(3).fit(TOY)
    for m in (0, 4, 1.5, True):
        with pytest.raises(ValueError, match="m must be an order of this model"):
            model.kneser_ney_counts(m)
    with pytest.raises(ValueError, match="m must be between 1 and 2"):
        model.counts.continuation_counts(3)
    with pytest.raises(ValueError, match="depth must be between 0 and 2"):
        model.counts.leading_bos(3)
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramLM(2).kneser_ney_counts(1)


def test_parameter_count_includes_the_interpolation_weights():
    # The n-gram "parameters" counted only the n-grams: the per-context weights γ(h) of an interpolated model
    # are stored numbers too (3.8 M for the WikiText-2 5-gram), so the 5-gram looked the NNLM's size (issue 22).
    model = NGramLM(3, "kneser_ney").fit(TOY)
    counts = model.counts
    grams = sum(counts.types(n) for n in (1, 2, 3))
    contexts = sum(int((counts.leading_bos(d) < 2).sum()) for d in (0, 1, 2))  # <bos> <bos>: passes through
    assert model.parameter_count() == grams + contexts > grams
    assert len(counts.ctx_keys[2]) > int((counts.leading_bos(2) < 2).sum())  # padding contexts exist, unstored
    assert NGramLM(2, "mle").fit(TOY).parameter_count() == counts.types(1) + counts.types(2)
    assert NGramLM(2, "interpolation", lambdas=[0.2, 0.3, 0.5]).fit(TOY).parameter_count() == (
        counts.types(1) + counts.types(2) + 3)
    assert UniformLM().fit(TOY).parameter_count() == 0 and UniformLM().smoothing == "uniform"
    with pytest.raises(ValueError, match="smoothing must be one of"):
        NGramLM(2, "uniform")


def test_order_one_kneser_ney_is_the_mle_when_no_word_is_seen_once_or_twice():
    # WikiText-2's closed vocabulary: n1 = n2 = 0, so Y = 0 and the discounts are (0, 2, 3); every count loses 3
    # and the uniform share gives 3/N back to each word: the MLE exactly (the docstring said "only in tiny
    # corpora").
    lines = [["a", "b", "<unk>"]] * 3 + [["a", "a", "b", "<unk>"]]  # every type seen 3+ times, <unk> too
    kn, mle = NGramLM(1, "kneser_ney").fit(lines), NGramLM(1, "mle").fit(lines)
    assert kn.discounts[1] == (0.0, 2.0, 3.0)
    np.testing.assert_allclose(kn.next_token_distribution(), mle.next_token_distribution(), atol=1e-12)


def test_counts_helpers_unigrams_and_seen_contexts():
    counts = NGramCounts(TOY, 3)
    unigrams = counts.unigram_counts()
    assert unigrams[counts.stoi["cat"]] == 10 and unigrams[counts.stoi[EOS]] == len(TOY)
    seen = counts.context_seen([["the", "cat", "flies"], ["zebra", "cat"]])
    assert seen.shape == (7, 3) and seen[:, 0].all()  # the empty context is always seen
    # predicted: the cat flies <eos> | zebra cat <eos>; "flies" and "zebra" are <unk>, never a context in TOY
    assert seen[:, 1].tolist() == [True, True, True, False, True, False, True]
    assert seen[2, 2] and not seen[3, 2]  # "the cat" seen, "cat <unk>" not


def test_preceding_types_are_continuation_counts():
    counts = NGramCounts(TOY, 2)
    preceding = counts.preceding_types()
    assert preceding[counts.stoi["cat"]] == len({"the", "a", "my", "that"})
    assert preceding[counts.stoi["the"]] == len({BOS, "on"})
    with pytest.raises(ValueError, match="order >= 2"):
        NGramCounts(TOY, 1).preceding_types()


# ---------------------------------------------------------------------------------------- em_weights


def _em_in_probability_space(q: np.ndarray, iterations: int = 2000) -> np.ndarray:
    """The textbook EM for mixture weights, in probability space: the reference for em_weights."""
    lam = np.full(q.shape[1], 1.0 / q.shape[1])
    for _ in range(iterations):
        lam = (q * lam).T @ (1.0 / (q @ lam)) / len(q)
    return lam / lam.sum()


def test_em_weights_match_the_textbook_em_and_raise_the_likelihood():
    from n2t.ngram import em_weights

    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(50), size=400)[:, :4] + 1e-3  # four models' probabilities of 400 tokens
    weights = em_weights(np.log(q))
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    reference = _em_in_probability_space(q)
    assert np.allclose(weights, reference, atol=1e-4)  # it stops once the likelihood gains < 1e-10
    assert np.log(q @ weights).mean() >= np.log(q @ reference).mean() - 1e-9
    uniform = np.full(4, 0.25)
    assert np.log(q @ weights).mean() >= np.log(q @ uniform).mean()
    # a model that gives every token p = 0 gets no weight; one that is always better gets nearly all
    dominated = np.stack([np.full(100, 0.5), np.full(100, 0.01)], axis=1)
    assert em_weights(np.log(dominated))[0] > 0.999
    with np.errstate(divide="ignore"):
        assert em_weights(np.log(np.stack([np.full(10, 0.2), np.zeros(10)], axis=1)))[1] == 0.0


def test_em_weights_refuse_what_is_not_log_probabilities():
    from n2t.ngram import em_weights

    with pytest.raises(ValueError, match="tokens, models"):
        em_weights(np.zeros(5))
    with pytest.raises(ValueError, match="log-probabilities"):
        em_weights(np.array([[0.5, -1.0]]))  # ln p > 0
    with pytest.raises(ValueError, match="log-probabilities"):
        em_weights(np.array([[-np.inf, -np.inf]]))  # no model gives the token any probability
