"""The library under bad input (issue 22): a plausible mistake gets a clear error naming the argument, never a
silent wrong answer. The cases come from the robustness review; each module's own tests hold the rest."""

from __future__ import annotations

import math

import pytest
import torch

from n2t import (
    book,
    bpe,
    classify,
    counting,
    lm,
    metrics,
    ngram,
    objectives,
    plot,
    text,
    train,
    transfer,
    translation,
    vectors,
    word2vec,
)

VOCAB = text.Vocab(["a", "b", "c"])

# One string where a sequence of tokens or texts belongs: a string is a sequence too, of characters, so each of
# these used to run on letters without a word of complaint.
STRING_FOR_LIST = [
    ("Vocab", lambda: text.Vocab("some text"), "tokens"),
    ("encode_corpus", lambda: word2vec.encode_corpus("the cat sat", min_count=1), "lines"),
    ("encode_corpus (lines of text)", lambda: word2vec.encode_corpus(["the cat sat"], min_count=1), r"lines\[0\]"),
    ("train_bpe", lambda: bpe.train_bpe("hello world", 3), "words"),
    ("coverage", lambda: classify.coverage("a b c", VOCAB), "texts"),
    ("restrict_vectors", lambda: transfer.restrict_vectors(torch.zeros(2, 3), ["king", "queen"], "king queen"),
     "texts"),
    ("build_vocabs", lambda: translation.build_vocabs([("你好", "hello there")], min_freq=1), "pairs"),
    ("extend_vocab", lambda: objectives.extend_vocab(VOCAB, "xyz"), "tokens"),
    ("Lookup", lambda: vectors.Lookup("abc"), "itos"),
    ("NGramCounts", lambda: counting.NGramCounts([["a", "cat"]], 2, vocab="cat"), "vocab"),
    ("markdown_table", lambda: book.markdown_table("ab", [[1, 2]]), "header"),
]


@pytest.mark.parametrize(("call", "name"), [(call, name) for _, call, name in STRING_FOR_LIST],
                         ids=[case for case, _, _ in STRING_FOR_LIST])
def test_a_string_where_a_sequence_belongs_is_refused(call, name):
    with pytest.raises(TypeError, match=rf"{name} must be (a sequence|a list|tokenized)"):
        call()


# ----------------------------------------------------------------------------------- training settings


def test_a_negative_gradient_clip_is_refused_not_gradient_ascent():
    # clip_grad_norm_ with a negative max_norm multiplies every gradient by a negative factor (issue 22).
    from n2t import train

    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.ones_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for clip in (-1.0, 0.0, float("nan")):
        with pytest.raises(ValueError, match=rf"grad_clip must be a positive finite number; got {clip}"):
            train.optimizer_step(model(torch.ones(1, 1)).sum(), model, optimizer, 1, grad_clip=clip)
    assert model.weight.item() == 1.0  # nothing moved
    with pytest.raises(ValueError, match="grad_clip must be a positive"):
        train.fit(model, [torch.ones(1, 1)], lambda m, b: m(b).sum(), optimizer, grad_clip=-1)


def test_a_negative_learning_rate_is_refused():
    # Adam checks its default lr but not the lr of a parameter group, which is how train_classifier passes it:
    # lr=-1 climbed the loss from 0.67 to 10⁵ (issue 22).
    from n2t import train

    model = classify.Classifier(classify.EmbeddingEncoder(VOCAB, dim=2), num_classes=2)
    data = classify.Encoded(torch.zeros(4, 2, dtype=torch.long), torch.ones(4, 2, dtype=torch.bool),
                            torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="lr must be a positive finite number; got -1"):
        classify.train_classifier(model, data, steps=1, lr=-1)
    with pytest.raises(ValueError, match="encoder_lr must be a positive finite number; got 0"):
        classify.train_classifier(model, data, steps=1, encoder_lr=0)
    with pytest.raises(ValueError, match=r"lr must be a positive finite number; got -0\.001"):
        train.adamw(torch.nn.Linear(2, 2), lr=-1e-3)


# ------------------------------------------------------------------------------------------------ masks


def test_elmo_features_refuse_an_integer_mask_that_would_index_positions():
    # ids[row][mask] with an int64 0/1 mask picks positions 1, 1, 0 instead of selecting: row [5, 6, 7] with
    # mask [1, 1, 0] was read as the tokens [6, 6, 5] (issue 22).
    from n2t import elmo

    features = elmo.ELMoFeatures(elmo.BiLM(10, 4, num_layers=1, adaptive=False))
    ids = torch.tensor([[5, 6, 7]])
    with pytest.raises(TypeError, match=r"mask must have dtype torch.bool .*got torch.int64: use mask.bool\(\)"):
        features(ids, torch.tensor([[1, 1, 0]]))
    layers = features(ids, torch.tensor([[True, True, False]]))
    assert layers.shape == (1, 2, 3, 8) and torch.equal(layers[0, :, 2], torch.zeros(2, 8))


def test_additive_attention_over_a_row_of_padding_gives_zeros_like_the_others():
    # Bahdanau attention over a source whose mask row is all False returned NaN, while n2t.attention and
    # DotProductAttention return zero weights and a zero context (issue 22).
    from n2t import seq2seq

    torch.manual_seed(0)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    queries, values = torch.randn(2, 1, 4), torch.randn(2, 3, 4)
    for attention in (seq2seq.AdditiveAttention(4, 4, 4), seq2seq.DotProductAttention(4, 4, 4)):
        keys = attention.project_keys(torch.randn(2, 3, 4)).detach().requires_grad_(True)
        context, weights = attention(queries, keys, values, mask)
        assert torch.equal(weights[1], torch.zeros(1, 3)) and torch.equal(context[1], torch.zeros(1, 4))
        assert torch.equal(weights[0, 0, 2], torch.tensor(0.0))
        assert torch.allclose(weights[0].sum(), torch.tensor(1.0))
        context.sum().backward()
        assert torch.isfinite(keys.grad).all()


def test_an_order_beyond_any_line_is_refused_at_once_instead_of_counting_for_hours():
    # NGramCounts(order=10**7) on a tiny corpus ran one np.unique pass per order and never returned (issue 22).
    lines = [["the", "cat"], ["a", "cat", "sits"]]
    with pytest.raises(ValueError, match=r"order 10000000 is more than this corpus can use: .* use order <= 5"):
        counting.NGramCounts(lines, 10**7)
    assert counting.NGramCounts(lines, 5).order == 5


# ------------------------------------------------------------- the medium cases a learner meets in the chapters


def _linear():
    return torch.nn.Linear(1, 1)


MEDIUM = [
    ("perplexity of a negative NLL", lambda: metrics.perplexity(-5.0, 1), ValueError, "total_nll must be >= 0"),
    ("probabilities passed as log-probabilities", lambda: lm.perplexity([0.5, 0.2]), ValueError,
     r"logprobs must be log-probabilities \(<= 0\)"),
    ("accuracy of NaN logits", lambda: metrics.accuracy(torch.full((2, 3), float("nan")), torch.tensor([0, 1])),
     ValueError, "hold NaN"),
    ("macro-F1 of float predictions", lambda: metrics.macro_f1(torch.tensor([0.5, 1.0]), torch.tensor([0, 1]), 2),
     TypeError, "predictions must be integer class ids"),
    ("PCA of one row", lambda: plot.pca_2d(torch.randn(1, 4)), ValueError, "at least 2 rows and 2 columns"),
    ("PCA of NaN", lambda: plot.pca_2d(torch.full((3, 4), float("nan"))), ValueError, "NaN"),
    ("a label per point", lambda: plot.scatter_2d(torch.randn(4, 2), labels=["a", "b", "c"]), ValueError,
     "labels must name each of the 4 points"),
    ("x and y of one series", lambda: plot.curves({"a": ([1, 2], [1])}, "x", "y"), ValueError,
     "series 'a': x has 2 values but y has 1"),
    ("an LM stream of float ids", lambda: text.LMStream([1.7, 2.2, 3.0, 4.0], 1, 2), TypeError,
     "ids must hold integer token ids"),
    ("an LM stream of negative ids", lambda: text.LMStream([1, -2, 3, 4], 1, 2), ValueError, "ids >= 0"),
    ("padding float ids", lambda: text.pad_sequences([[1.7, 2.2]], 0), TypeError, "integer token ids"),
    ("a pair with an empty source", lambda: text.pair_batch([([], ["hi"])], VOCAB, VOCAB), ValueError,
     "source 0 is empty"),
    ("a seed that is a string", lambda: list(text.pair_batches([(["a"], ["b"])], VOCAB, VOCAB, 1, True, "x")),
     TypeError, "seed must be an integer; got 'x'"),
    ("seeding with a float", lambda: train.seed_everything(1.5), TypeError, "seed must be an integer"),
    ("seeding beyond 64 bits", lambda: train.seed_everything(2**70), ValueError, "fit in 64 bits"),
    ("a loss that is not a scalar", lambda: train.optimizer_step(
        _linear()(torch.ones(3, 1)).squeeze(1), _linear(), torch.optim.SGD(_linear().parameters(), lr=0.1), 1),
     ValueError, r"loss must be a scalar tensor .*got \(3,\)"),
    ("training on no batch", lambda: train.fit(_linear(), [], lambda m, b: m(b).sum(),
                                               torch.optim.SGD(_linear().parameters(), lr=0.1)),
     ValueError, "epoch 1 has no batch"),
    ("a NaN validation score", lambda: train.BestWeights(_linear()).update(_linear(), float("nan"), 10),
     ValueError, "score is NaN"),
    ("the inverse-square-root schedule of d_model 0", lambda: train.warmup_inverse_sqrt(
        torch.optim.SGD(_linear().parameters(), lr=1.0), 0, 10), ValueError, "d_model must be a positive integer"),
    ("an n-gram context of ids", lambda: ngram.NGramLM(2).fit([["a", "b"]]).next_token_distribution([5]),
     TypeError, "context must hold token strings"),
    ("the vocabulary of no line", lambda: counting.vocabulary([]), ValueError, "lines is empty"),
]


@pytest.mark.parametrize(("call", "error", "message"), [case[1:] for case in MEDIUM], ids=[c[0] for c in MEDIUM])
def test_a_plausible_mistake_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_damaged_checkpoint_is_named(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"checkpoint .*bad\.pt cannot be read"):
        train.load_checkpoint(path, _linear())
    torch.save({"weights": torch.ones(1)}, path)
    with pytest.raises(ValueError, match="has no 'model' entry"):
        train.load_checkpoint(path, _linear())


def test_perplexity_too_large_for_a_float_is_infinite_not_an_overflow_error():
    assert metrics.perplexity(1e6, 1) == float("inf") and lm.perplexity([-1e6]) == float("inf")
    assert math.isnan(metrics.perplexity(float("nan"), 3))
