"""n2t.word2vec: noise and subsampling distributions, hand-written gradients vs autograd, the evaluators, bad input."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from n2t import vectors as wv
from n2t import word2vec as w2v
from n2t import zoo
from n2t.profile import Profile

# ------------------------------------------------------------------------------- noise distribution


def test_noise_distribution_is_count_to_the_three_quarters():
    counts = torch.tensor([1, 16, 81, 256])
    expected = torch.tensor([1.0, 8.0, 27.0, 64.0]) / 100.0  # c**0.75 = 1, 8, 27, 64
    assert torch.allclose(w2v.noise_distribution(counts), expected.double(), atol=1e-12)


def test_negative_samples_follow_count_to_the_three_quarters():
    counts = torch.tensor([1, 16, 81, 256, 625])  # c**0.75 = 1, 8, 27, 64, 125
    noise = w2v.noise_distribution(counts)
    draws = w2v.NoiseSampler(noise)((400_000,), torch.Generator().manual_seed(0))
    observed = torch.bincount(draws, minlength=5).double()
    expected = noise * draws.numel()
    chi_square = float(((observed - expected) ** 2 / expected).sum())
    assert chi_square < 18.47  # the 0.999 quantile of chi-square with 4 degrees of freedom
    # and not proportional to the counts themselves: against those the same draw is far off
    raw = counts.double() / counts.sum() * draws.numel()
    assert float(((observed - raw) ** 2 / raw).sum()) > 1000


# -------------------------------------------------------------------------------------- subsampling


def test_keep_probability_is_word2vec_c_formula():
    counts = torch.tensor([1_000, 100, 10, 1])  # frequencies 0.9009, 0.0901, 0.00901, 0.000901
    t = 1e-3
    f = counts.double() / counts.sum()
    by_hand = [min(1.0, math.sqrt(t / fi) + t / fi) for fi in f.tolist()]
    assert torch.allclose(w2v.keep_probability(counts, t), torch.tensor(by_hand, dtype=torch.float64))
    assert w2v.keep_probability(counts, 0.0).eq(1).all()  # t = 0: no subsampling


def test_subsampling_keeps_a_word_with_mikolovs_probability():
    lines = [["the"] * 50 + ["cat", "dog", "fish", "bird", "cow"] for _ in range(2_000)]
    corpus = w2v.encode_corpus(lines, min_count=1)
    t = 1e-2
    keep = w2v.keep_probability(corpus.counts, t)
    kept, _ = w2v.subsample(corpus, t, torch.Generator().manual_seed(1))
    for word in ("the", "cat"):
        i = corpus.stoi[word]
        n = int((corpus.ids == i).sum())
        p = float(keep[i])
        rate = float((kept == i).sum()) / n
        assert abs(rate - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-9, (word, rate, p)
    assert 0 < float(keep[corpus.stoi["the"]]) < 0.5 < float(keep[corpus.stoi["cat"]])


# ------------------------------------------------------------------------------------------ windows


def test_dynamic_window_weights_near_words_more_and_never_crosses_a_line():
    line_ids = torch.zeros(20_000, dtype=torch.long)
    mask = w2v.dynamic_windows(line_ids, 4, torch.Generator().manual_seed(0))
    usage = mask[10:-10].double().mean(0)  # offsets -4 … -1, 1 … 4, away from the ends
    expected = torch.tensor([1, 2, 3, 4, 4, 3, 2, 1], dtype=torch.float64) / 4  # (window - |o| + 1) / window
    assert torch.allclose(usage, expected, atol=0.02)
    two_lines = torch.tensor([0, 0, 0, 1, 1, 1])
    mask = w2v.dynamic_windows(two_lines, 3, torch.Generator().manual_seed(0))
    positions = torch.arange(6)[:, None] + w2v.window_offsets(3)[None, :]
    assert not (mask & (positions.clamp(0, 5) // 3 != two_lines[:, None])).any()
    assert not (mask & ((positions < 0) | (positions > 5))).any()


def test_skipgram_pairs_by_hand():
    ids = torch.tensor([10, 11, 12])
    mask = torch.tensor([[False, True], [True, True], [True, False]])  # window 1: offsets -1, +1
    centres, contexts = w2v.skipgram_pairs(ids, mask, 1)
    assert list(zip(centres.tolist(), contexts.tolist(), strict=True)) == [(10, 11), (11, 10), (11, 12), (12, 11)]


# ------------------------------------------------------------------ hand-written gradients = autograd


def _tables(vocab=7, dim=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(vocab, dim, generator=g, dtype=torch.float64), torch.randn(
        vocab, dim, generator=g, dtype=torch.float64
    )


def _check_skipgram_step(words: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor) -> None:
    """skipgram_step equals SGD on the negative-sampling loss (autograd), negatives equal to the target left out."""
    w_in, w_out = _tables()
    a_in, a_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    v = a_in[words]
    pos = (a_out[targets] * v).sum(1)
    neg = (a_out[negatives] * v[:, None, :]).sum(2)
    loss = -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg)[negatives != targets[:, None]].sum())
    loss.backward()
    lr = 0.1
    returned = w2v.skipgram_step(w_in, w_out, words, targets, negatives, lr)
    assert math.isclose(returned, float(loss.detach()), rel_tol=1e-9)
    assert torch.allclose(w_in, a_in.detach() - lr * a_in.grad)
    assert torch.allclose(w_out, a_out.detach() - lr * a_out.grad)


def test_skipgram_step_is_sgd_on_the_negative_sampling_loss():
    negatives = torch.tensor([[4, 6], [0, 4], [2, 2], [6, 1]])  # repeated rows must add up
    _check_skipgram_step(torch.tensor([0, 1, 0, 3]), torch.tensor([2, 2, 5, 0]), negatives)


def test_skipgram_step_skips_a_negative_that_is_the_target():
    negatives = torch.tensor([[2, 4], [5, 5]])  # 2 and 5 are the targets: word2vec.c skips these draws
    _check_skipgram_step(torch.tensor([0, 3]), torch.tensor([2, 5]), negatives)
    w_in, w_out = _tables()
    v, before = w_in[3].clone(), w_out.clone()
    w2v.skipgram_step(w_in, w_out, torch.tensor([3]), torch.tensor([5]), torch.tensor([[5, 5]]), 0.1)
    positive_only = before[5] - 0.1 * (torch.sigmoid(before[5] @ v) - 1) * v
    assert torch.allclose(w_out[5], positive_only)  # the skipped draws add nothing to row 5


@pytest.fixture
def skipgram_calls(monkeypatch) -> list[tuple]:
    """Record ``(words, targets, negatives, lr)`` of every skipgram_step that training makes."""
    return _spy(monkeypatch, "skipgram_step")


@pytest.fixture
def cbow_calls(monkeypatch) -> list[tuple]:
    """Record ``(contexts, context_mask, centres, negatives, lr)`` of every cbow_step that training makes."""
    return _spy(monkeypatch, "cbow_step")


def _spy(monkeypatch, name: str) -> list[tuple]:
    """Record the arguments after the two tables of every call to ``w2v.<name>``."""
    calls, real_step = [], getattr(w2v, name)

    def spy(w_in, w_out, *batch):
        calls.append(tuple(x.clone() if isinstance(x, torch.Tensor) else x for x in batch))
        return real_step(w_in, w_out, *batch)

    monkeypatch.setattr(w2v, name, spy)
    return calls


def test_learning_rate_falls_linearly_from_lr_to_min_lr():
    assert w2v.learning_rate(0.025, 1e-4, 0.0) == 0.025
    assert math.isclose(w2v.learning_rate(0.025, 1e-4, 0.5), (0.025 + 1e-4) / 2)
    assert math.isclose(w2v.learning_rate(0.025, 1e-4, 1.0), 1e-4)
    assert math.isclose(w2v.learning_rate(0.025, 1e-4, 1.5), 1e-4)  # never below min_lr


def test_training_decays_the_rate_over_the_share_of_examples_done(cbow_calls):
    """The rate of each step falls linearly with the share of all epochs' examples done (gensim's schedule)."""
    corpus = w2v.encode_corpus([["a", "b", "c", "d"] * 25] * 40, min_count=1)  # 4,000 words in 40 lines
    w2v.train(corpus, "cbow", dim=4, window=2, epochs=2, subsample_t=0, batch_size=100, lr=0.02, min_lr=1e-3,
              dev="cpu")
    # Without subsampling every word is a CBOW example: step i starts after 100·i of both epochs' 8,000.
    expected = [0.02 - (0.02 - 1e-3) * 100 * i / 8000 for i in range(80)]
    seen = [call[4] for call in cbow_calls]
    assert len(seen) == 80
    assert all(math.isclose(a, b) for a, b in zip(seen, expected, strict=True))


def test_skipgram_steps_hold_batch_size_pairs(skipgram_calls):
    """Every step but an epoch's last has one shape, as torch.compile wants: batch_size pairs."""
    corpus = w2v.encode_corpus([["a", "b", "c", "d"] * 25] * 40, min_count=1)
    model = w2v.train(corpus, dim=4, window=2, epochs=1, subsample_t=0, batch_size=64, dev="cpu")
    sizes = [call[0].numel() for call in skipgram_calls]
    assert set(sizes[:-1]) == {64} and 0 < sizes[-1] <= 64
    assert sum(sizes) == model.examples > 64 * 10


def test_subsample_keeps_the_tokens_at_kept_positions_in_text_order():
    corpus = w2v.encode_corpus([["a"] * 50 + ["b", "c"] * 25] * 20, min_count=1)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    kept = w2v.kept_positions(corpus, 0.05, g1)
    ids, _ = w2v.subsample(corpus, 0.05, g2)
    assert torch.equal(corpus.ids[kept], ids)  # the same draw
    assert kept.numel() < len(corpus) and bool((kept[1:] > kept[:-1]).all())


def _unshuffled(monkeypatch) -> None:
    """Make training take each epoch's examples in text order (``torch.randperm`` the identity)."""
    monkeypatch.setattr(torch, "randperm", lambda n, generator=None: torch.arange(n))


def test_skipgram_training_lets_the_context_word_predict_the_centre(skipgram_calls, monkeypatch):
    """word2vec.c and gensim train the context word's input vector to predict the centre word's output vector."""
    _unshuffled(monkeypatch)
    corpus = w2v.encode_corpus([["a", "b"]] * 10, min_count=1)
    w2v.train(corpus, dim=4, window=1, epochs=1, subsample_t=0, batch_size=4, dev="cpu")
    a, b = corpus.stoi["a"], corpus.stoi["b"]
    words, targets = skipgram_calls[0][:2]
    # In text order the first centre is the first "a"; its one context word is the "b" after it.
    assert (int(words[0]), int(targets[0])) == (b, a)


@pytest.mark.parametrize("architecture", w2v.ARCHITECTURES)
def test_training_takes_each_epochs_examples_in_random_order(architecture, monkeypatch):
    """The same examples as in text order, shuffled: the centres of the steps, concatenated, are a permutation."""
    corpus = w2v.encode_corpus([[f"w{i}" for i in range(10)]] * 30, min_count=1)  # the centre is its position
    name = "skipgram_step" if architecture == "skipgram" else "cbow_step"
    centres = {}
    for order in ("random", "text"):
        if order == "text":
            _unshuffled(monkeypatch)
        calls = _spy(monkeypatch, name)
        w2v.train(corpus, architecture, dim=4, window=2, epochs=1, subsample_t=0, batch_size=16, dev="cpu")
        centres[order] = torch.cat([call[1] if architecture == "skipgram" else call[2] for call in calls])
    assert torch.equal(centres["random"].sort().values, centres["text"].sort().values)
    assert not torch.equal(centres["random"], centres["text"])


def test_cbow_step_is_word2vecs_update_on_the_negative_sampling_loss():
    w_in, w_out = _tables()
    # two centres (columns): three and four context words; the masked slot's id 0 must receive nothing
    contexts = torch.tensor([[1, 0], [2, 5], [3, 6], [0, 2]])  # (slots, batch)
    context_mask = torch.tensor([[1, 1], [1, 1], [1, 1], [0, 1]], dtype=torch.bool)
    centres = torch.tensor([5, 1])
    negatives = torch.tensor([[2, 3, 3], [6, 4, 1]])  # the last one is the centre word: skipped
    a_in, a_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    total = torch.stack([a_in[[1, 2, 3]].sum(0), a_in[[0, 5, 6, 2]].sum(0)])
    mean = total / torch.tensor([[3.0], [4.0]], dtype=torch.float64)
    # word2vec's update: the forward pass uses the mean, every context word gets the mean's whole gradient
    h = mean.detach() + (total - total.detach())
    pos = (a_out[centres] * h).sum(1)
    neg = (a_out[negatives] * h[:, None, :]).sum(2)
    loss = -(F.logsigmoid(pos).sum() + F.logsigmoid(-neg)[negatives != centres[:, None]].sum())
    loss.backward()
    lr = 0.1
    returned = w2v.cbow_step(w_in, w_out, contexts, context_mask, centres, negatives, lr)
    assert math.isclose(returned, float(loss.detach()), rel_tol=1e-9)
    assert torch.allclose(w_in, a_in.detach() - lr * a_in.grad)
    assert torch.allclose(w_out, a_out.detach() - lr * a_out.grad)


@pytest.mark.parametrize("architecture", w2v.ARCHITECTURES)
def test_the_compiled_step_makes_the_same_update(architecture):
    """torch.compile's fused step (CompiledStep) changes the tables as the plain step does."""
    g = torch.Generator().manual_seed(3)
    words, targets, negatives = (torch.randint(0, 7, (16,), generator=g), torch.randint(0, 7, (16,), generator=g),
                                 torch.randint(0, 7, (16, 3), generator=g))
    if architecture == "skipgram":
        step, batch = w2v.skipgram_step, (words, targets, negatives)
    else:
        mask = torch.rand(4, 16, generator=g) < 0.7
        mask[0] = True
        step, batch = w2v.cbow_step, (torch.randint(0, 7, (4, 16), generator=g), mask, words, negatives)
    plain, fused = [t.float() for t in _tables()], [t.float() for t in _tables()]
    expected = step(*plain, *batch, 0.05)
    compiled = w2v.CompiledStep(step)
    returned = compiled(*fused, *batch, 0.05)
    assert compiled.compiled is not None  # it did not fall back to the plain step
    assert math.isclose(float(returned), float(expected), rel_tol=1e-5)
    for after, reference in zip(fused, plain, strict=True):
        assert torch.allclose(after, reference, atol=1e-6)


def test_a_step_that_cannot_compile_warns_and_runs_plain(monkeypatch):
    from torch._inductor.exc import InductorError  # what torch.compile raises without a C++ compiler

    def broken(step):
        def fails(*args):
            raise InductorError(RuntimeError("no C++ compiler here"), None)
        return fails

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(w2v, "compiled_step", w2v.CompiledStep)  # not the process's cached one
    corpus = w2v.encode_corpus([["a", "b", "c", "d"]] * 30, min_count=1)
    with pytest.warns(RuntimeWarning, match="torch.compile failed.*no C\\+\\+ compiler here"):
        compiled = w2v.train(corpus, dim=4, window=2, epochs=1, subsample_t=0, batch_size=5, seed=1, dev="cpu",
                             use_compile=True)
    plain = w2v.train(corpus, dim=4, window=2, epochs=1, subsample_t=0, batch_size=5, seed=1, dev="cpu")
    assert torch.equal(compiled.vectors, plain.vectors)


def test_an_error_of_the_step_itself_is_raised_not_taken_for_a_compiler_failure(monkeypatch):
    """A bad id inside the compiled step is the caller's error: raised as it is, no warning, compiling kept."""

    def compiled(*args):
        raise IndexError("index 99 is out of bounds for dimension 0 with size 7")

    step = w2v.CompiledStep(w2v.skipgram_step)
    monkeypatch.setattr(step, "compiled", compiled)
    w_in, w_out = _tables()
    batch = torch.tensor([99]), torch.tensor([0]), torch.tensor([[1, 2]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would fail the test
        with pytest.raises(IndexError, match="index 99"):
            step(w_in, w_out, *batch, 0.1)
    assert step.compiled is compiled  # still compiling: nothing was wrong with the compiler


def test_the_compiled_step_takes_a_rate_given_as_a_tensor_without_a_warning(monkeypatch):
    seen = []
    step = w2v.CompiledStep(w2v.skipgram_step)
    monkeypatch.setattr(step, "compiled", lambda *args: seen.append(args[-1]) or torch.tensor(0.0))
    w_in, w_out = _tables()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.tensor(a tensor) warns; the step must not
        step(w_in, w_out, torch.tensor([1]), torch.tensor([0]), torch.tensor([[2]]), torch.tensor(0.05))
    assert isinstance(seen[0], torch.Tensor) and float(seen[0]) == pytest.approx(0.05)


@pytest.mark.parametrize("architecture", w2v.ARCHITECTURES)
def test_training_puts_words_of_the_same_contexts_together(architecture):
    g = torch.Generator().manual_seed(0)
    animals, tools = ["cat", "dog", "cow", "pig"], ["saw", "drill", "hammer", "axe"]
    lines = []
    for _ in range(600):
        group = animals if torch.rand(1, generator=g) < 0.5 else tools
        verb = ["eats", "runs", "sleeps"] if group is animals else ["cuts", "drills", "breaks"]
        lines.append([group[int(torch.randint(4, (1,), generator=g))], verb[int(torch.randint(3, (1,), generator=g))],
                      group[int(torch.randint(4, (1,), generator=g))]])
    corpus = w2v.encode_corpus(lines, min_count=1)
    model = w2v.train(corpus, architecture, dim=16, window=2, epochs=20, subsample_t=0, batch_size=64, seed=0, dev="cpu")
    assert model.losses[-1] < model.losses[0]
    v = wv.unit_rows(model.vectors)
    ids = corpus.stoi
    same = float(v[ids["cat"]] @ v[ids["dog"]])
    other = float(v[ids["cat"]] @ v[ids["saw"]])
    assert same > other + 0.2, (same, other)


def test_input_vectors_start_uniform_in_plus_minus_one_over_dim_as_in_gensim():
    """A word that is never anyone's context keeps its initial input vector: gensim 4's uniform ±1/dim."""
    corpus = w2v.encode_corpus([["a", "b", "c"]] * 20 + [["alone"]] * 5, min_count=1)
    dim = 64
    model = w2v.train(corpus, "skipgram", dim=dim, window=2, epochs=1, subsample_t=0, dev="cpu")
    start = model.vectors[corpus.stoi["alone"]]
    assert float(start.abs().max()) <= 1 / dim
    assert float(start.abs().max()) > 0.5 / dim  # wider than word2vec.c's ±0.5/dim
    assert abs(float(start.mean())) < 0.5 / dim


def test_training_is_reproducible():
    corpus = w2v.encode_corpus([["a", "b", "c", "a", "b", "d"]] * 50, min_count=1)
    first = w2v.train(corpus, dim=8, epochs=2, seed=3, dev="cpu")
    second = w2v.train(corpus, dim=8, epochs=2, seed=3, dev="cpu")
    assert torch.equal(first.vectors, second.vectors)


# --------------------------------------------------------------------------------------- evaluation

WORDS = ["man", "woman", "king", "queen", "apple"]
VECTORS = torch.tensor(
    [
        [1.0, 0.0, 0.0],  # man
        [0.0, 1.0, 0.0],  # woman
        [1.0, 0.0, 1.0],  # king = man + royal
        [0.0, 1.0, 1.0],  # queen = woman + royal
        [1.0, 1.0, -1.0],  # apple: unrelated
    ]
)


def test_analogy_by_hand():
    assert wv.analogy(VECTORS, WORDS, "man", "king", "woman", k=1)[0][0] == "queen"
    assert wv.analogy(VECTORS, WORDS, "king", "man", "queen", k=1)[0][0] == "woman"


def test_analogy_scores_are_the_cosines_of_its_formula():
    """analogy() returns cos(d, b − a + c), as Chapter 4's formula says, not a dot product with b − a + c."""
    answers = wv.analogy(VECTORS, WORDS, "man", "king", "woman", k=2)
    unit = F.normalize(VECTORS, dim=1)
    target = unit[2] - unit[0] + unit[1]  # king − man + woman
    for word, score in answers:
        expected = F.cosine_similarity(VECTORS[WORDS.index(word)], target, dim=0)
        assert math.isclose(score, float(expected), rel_tol=1e-6, abs_tol=1e-7)
    assert all(-1 <= score <= 1 for _, score in answers)


def test_analogy_excludes_the_question_words():
    # b − a + c is closest to c itself here; 3CosAdd must answer with another word.
    words = ["a", "b", "c", "d"]
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.3, 1.0]])
    answers = [w for w, _ in wv.analogy(vectors, words, "a", "b", "c", k=4)]
    assert answers == ["d"] and set(answers).isdisjoint({"a", "b", "c"})


def test_evaluate_analogies_on_a_hand_made_example():
    questions = {
        "royalty": [("man", "king", "woman", "queen"), ("woman", "queen", "man", "king")],
        "gram-fruit": [("man", "woman", "king", "apple"), ("man", "woman", "emperor", "empress")],
    }
    result = wv.evaluate_analogies(VECTORS, WORDS, questions)
    assert result.correct == {"royalty": 2, "gram-fruit": 0}  # man→woman :: king→queen, not apple
    assert result.covered == {"royalty": 2, "gram-fruit": 1} and result.total == {"royalty": 2, "gram-fruit": 2}
    assert math.isclose(result.accuracy, 2 / 3) and math.isclose(result.coverage, 3 / 4)
    assert result.semantic_accuracy == 1.0 and result.syntactic_accuracy == 0.0


def test_lookup_is_case_insensitive_with_the_most_frequent_casing():
    lookup = wv.Lookup(["Paris", "paris", "the"])
    assert lookup["paris"] == 1 and lookup["Paris"] == 0 and lookup["PARIS"] == 0
    assert lookup.canonical.tolist() == [0, 0, 2]
    assert lookup.get("nowhere") is None


def test_analogies_ignore_casing_like_gensim():
    # "King" (a case variant of the question word "king") is closest to b - a + c: it must be skipped,
    # and "Queen", a case variant of the expected "queen", counts as the right answer.
    words = ["man", "woman", "king", "queen", "King", "Queen"]
    vectors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.8, 1.0],
                            [0.0, 1.0, 1.0], [0.1, 1.0, 1.0]])
    result = wv.evaluate_analogies(vectors, words, {"royal": [("man", "king", "woman", "queen")]})
    assert result.correct == {"royal": 1}
    assert wv.analogy(vectors, words, "man", "king", "woman", k=1)[0][0] == "King"  # a plain query keeps it


def test_spearman_against_a_hand_example_with_ties():
    x = [1.0, 2.0, 2.0, 3.0]  # ranks 1, 2.5, 2.5, 4
    y = [10.0, 30.0, 20.0, 40.0]  # ranks 1, 3, 2, 4
    assert torch.equal(wv.rank(torch.tensor(x)), torch.tensor([1.0, 2.5, 2.5, 4.0], dtype=torch.float64))
    # Pearson of the ranks: deviations (-1.5, 0, 0, 1.5) and (-1.5, 0.5, -0.5, 1.5) → 4.5 / sqrt(4.5 · 5)
    assert math.isclose(wv.spearman(x, y), 4.5 / math.sqrt(4.5 * 5.0), rel_tol=1e-12)


def test_spearman_without_ties_is_the_textbook_formula():
    x = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0]
    y = [2.0, 7.0, 1.0, 8.0, 2.5, 8.5, 0.0, 4.0]
    rx, ry = wv.rank(torch.tensor(x)), wv.rank(torch.tensor(y))
    n = len(x)
    textbook = 1 - 6 * float(((rx - ry) ** 2).sum()) / (n * (n * n - 1))
    assert math.isclose(wv.spearman(x, y), textbook, rel_tol=1e-12)
    assert wv.spearman(x, x) == 1.0 and math.isclose(wv.spearman(x, [-v for v in x]), -1.0)


def test_evaluate_similarity_counts_coverage():
    pairs = [("king", "queen", 9.0), ("man", "woman", 8.0), ("king", "apple", 1.0), ("cat", "dog", 7.0)]
    result = wv.evaluate_similarity(VECTORS, WORDS, pairs)
    assert (result.covered, result.total) == (3, 4) and result.coverage == 0.75
    # cosines 0.5, 0, 0 → ranks 3, 1.5, 1.5; scores 9, 8, 1 → ranks 3, 2, 1; ρ = 1.5 / sqrt(1.5 · 2)
    assert math.isclose(result.rho, 1.5 / math.sqrt(3.0), rel_tol=1e-12)


def test_nearest_excludes_the_word_itself():
    found = wv.nearest(VECTORS, WORDS, "king", k=2)
    assert [w for w, _ in found] == ["man", "queen"]  # cosines 1/sqrt(2) and 1/2; "king" itself is skipped
    assert math.isclose(found[0][1], 1 / math.sqrt(2), rel_tol=1e-6)


def test_vector_file_round_trip(tmp_path):
    path = tmp_path / "vectors.txt"
    wv.save_vectors(path, VECTORS, WORDS)
    vectors, itos = wv.load_vectors(path)
    assert itos == WORDS and torch.allclose(vectors, VECTORS)


# --------------------------------------------------------------------------------------- bad input


def test_empty_corpus_is_a_clear_error():
    with pytest.raises(ValueError, match="corpus is empty"):
        w2v.encode_corpus([])
    with pytest.raises(ValueError, match="corpus is empty"):
        w2v.encode_corpus([["rare", "words"]], min_count=2)
    corpus = w2v.encode_corpus([["a", "b"]], min_count=1)
    empty = w2v.Corpus(corpus.ids[:0], corpus.line_ids[:0], corpus.itos, corpus.counts)
    with pytest.raises(ValueError, match="corpus is empty"):
        w2v.train(empty)


@pytest.mark.parametrize("argument", ["window", "negatives", "dim", "epochs", "batch_size"])
def test_sizes_below_one_are_clear_errors(argument):
    corpus = w2v.encode_corpus([["a", "b", "c"]], min_count=1)
    with pytest.raises(ValueError, match=f"{argument} must be a positive integer; got 0"):
        w2v.train(corpus, **{argument: 0})
    if argument == "window":
        with pytest.raises(ValueError, match="window must be at least 1; got -2"):
            w2v.dynamic_windows(corpus.line_ids, -2, torch.Generator())


def test_unknown_architecture_is_a_clear_error():
    corpus = w2v.encode_corpus([["a", "b", "c"]], min_count=1)
    with pytest.raises(ValueError, match="architecture must be one of"):
        w2v.train(corpus, "glove")


def test_unknown_word_in_a_query_names_the_word():
    with pytest.raises(KeyError, match="'emperor' is not in the vocabulary"):
        wv.analogy(VECTORS, WORDS, "man", "emperor", "woman")
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        wv.nearest(VECTORS, WORDS, "zebra")


def test_vectors_of_the_wrong_shape_are_clear_errors():
    with pytest.raises(ValueError, match="vectors has 4 rows but itos names 5 words"):
        wv.evaluate_analogies(VECTORS[:4], WORDS, {})
    with pytest.raises(ValueError, match=r"must be a \(\|V\|, dim\) matrix; got shape \(5,\)"):
        wv.nearest(VECTORS[:, 0], WORDS, "king")
    with pytest.raises(ValueError, match="floating point"):
        wv.check_vectors(torch.ones(5, 3, dtype=torch.long), WORDS)


def test_vector_file_of_the_wrong_shape_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2 3\nking 1 0 1\nqueen 0 1\n")
    with pytest.raises(ValueError, match="line 3: expected a word and 3 numbers; got 3 fields"):
        wv.load_vectors(path)
    path.write_text("3 3\nking 1 0 1\nqueen 0 1 1\n")
    with pytest.raises(ValueError, match="announces 3 words but the file has 2"):
        wv.load_vectors(path)
    path.write_text("king 1 0 1\n")
    with pytest.raises(ValueError, match="first line must be"):
        wv.load_vectors(path)


def test_vector_files_read_word2vec_c_output_and_refuse_a_word_with_a_space(tmp_path):
    # load_vectors rejected word2vec.c's own text output (a space after every number), with a miscount, and
    # save_vectors wrote a word holding a space into a file it could not read back (issue 22).
    path = tmp_path / "w2v.txt"
    path.write_text("2 2\nking 0.5 -1 \nqueen 1e-3 2 \n")  # as word2vec.c writes it
    vectors, itos = wv.load_vectors(path)
    assert itos == ["king", "queen"] and torch.equal(vectors, torch.tensor([[0.5, -1.0], [1e-3, 2.0]]))
    with pytest.raises(ValueError, match=r"word 'new york' is empty or holds whitespace.*join its parts with '_'"):
        wv.save_vectors(path, torch.zeros(2, 2), ["new york", "paris"])
    path.write_text("1 2\nnew york 0.5 1\n")
    with pytest.raises(ValueError, match=r"line 2: expected a word and 2 numbers; got 4 fields \(a word that holds"):
        wv.load_vectors(path)
    path.write_text("1 2\nking 0.5 x\n")
    with pytest.raises(ValueError, match=r"line 2: the values of 'king' are not all numbers"):
        wv.load_vectors(path)


def test_bad_counts_for_the_noise_distribution():
    with pytest.raises(ValueError, match="non-negative counts"):
        w2v.noise_distribution(torch.tensor([]))
    with pytest.raises(ValueError, match="non-negative counts"):
        w2v.noise_distribution(torch.tensor([3, -1]))


# --------------------------------------------------------------------------------------------- zoo


def test_the_zoo_knows_the_word_vectors():
    assert {"word2vec-skipgram", "word2vec-cbow"} <= set(zoo.names())


def test_quick_skipgram_artefact_holds_vectors_itos_and_metrics(cache):
    artefact = zoo.get("word2vec-skipgram", Profile("quick"))
    vectors, itos = artefact.state["vectors"], artefact.state["itos"]
    assert vectors.dim() == 2 and vectors.shape[0] == len(itos) and vectors.dtype == torch.float32
    assert len(set(itos)) == len(itos)
    counts = Counter(artefact.state["counts"].tolist())
    assert counts and min(artefact.state["counts"].tolist()) >= 5
    for key in ("analogy_accuracy", "analogy_coverage", "ws353_rho", "men_rho", "recipe_seconds", "clock"):
        assert key in artefact.metrics


def test_dynamic_windows_needs_the_lines_in_text_order():
    with pytest.raises(ValueError, match="line_ids must be in text order"):
        w2v.dynamic_windows(torch.tensor([0, 1, 0]), 2, torch.Generator())
