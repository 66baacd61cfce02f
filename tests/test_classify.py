"""n2t.classify: token encoders, the pooled classifier, learning curves, the bag-of-words baseline."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from n2t import classify, data, metrics, text, transfer
from n2t.data import Example, TextTask
from n2t.profile import Settings
from n2t.text import Vocab

pytestmark = pytest.mark.usefixtures("one_thread")

LABELS = ("neg", "pos")


def toy_task() -> TextTask:
    """Two classes told apart by one word each, with a shared filler vocabulary."""
    pos = ["a good film", "good fun", "so good", "good and fine", "really good", "good stuff"]
    neg = ["a bad film", "bad fun", "so bad", "bad and fine", "really bad", "bad stuff"]
    examples = [Example(t, "pos") for t in pos] + [Example(t, "neg") for t in neg]
    train = tuple(examples[i] for i in (0, 1, 2, 3, 6, 7, 8, 9))
    return TextTask("toy", LABELS, train, (examples[4], examples[10]), (examples[5], examples[11]))


def toy_vectors() -> tuple[torch.Tensor, list[str]]:
    itos = ["good", "bad", "film", "fun", "a", "so", "and", "fine", "really", "stuff", "unused"]
    vectors = torch.randn(len(itos), 8, generator=torch.Generator().manual_seed(0))
    return vectors, itos


def toy_settings(**changes) -> Settings:
    values = {
        "tasks": ("toy",), "sizes": (2, 4, None), "seeds": (0, 1), "hidden": 8, "dropout": 0.0,
        "batch_size": 4, "epochs": 5, "min_steps": 20, "max_steps": 40, "lr": 1e-2, "encoder_lr": 1e-2,
        "max_len": 16, "bow_c": 1.0,
    }
    return Settings("transfer", "test", {**values, **changes})


def toy_encoder(freeze: bool, seed: int = 0) -> classify.EmbeddingEncoder:
    vectors, itos = toy_vectors()
    task = toy_task()
    texts = [e.text for split in (task.train, task.valid, task.test) for e in split]
    vocab, table = transfer.restrict_vectors(vectors, itos, texts)
    return classify.EmbeddingEncoder(vocab, vectors=table, freeze=freeze)


# ------------------------------------------------------------------------------------------ macro-F1


def test_macro_f1_matches_a_hand_computation():
    # targets:     0 0 0 0 1 1 2 2 2 2 ; predictions: 0 0 1 2 1 0 2 2 2 1
    targets = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    predictions = torch.tensor([0, 0, 1, 2, 1, 0, 2, 2, 2, 1])
    # class 0: TP 2, FP 1, FN 2 → F1 = 4/7; class 1: TP 1, FP 2, FN 1 → 2/5; class 2: TP 3, FP 1, FN 1 → 6/8
    expected = (4 / 7 + 2 / 5 + 6 / 8) / 3
    assert metrics.macro_f1(predictions, targets, 3) == pytest.approx(expected)


def test_macro_f1_weighs_the_rare_class_like_the_common_one():
    targets = torch.tensor([0] * 9 + [1])
    always_majority = torch.zeros(10, dtype=torch.long)
    assert metrics.accuracy(always_majority, targets) == pytest.approx(0.9)
    # class 0: F1 = 18/19; class 1 never predicted and missed once: F1 = 0
    assert metrics.macro_f1(always_majority, targets, 2) == pytest.approx(18 / 19 / 2)
    assert metrics.macro_f1(targets, targets, 2) == 1.0


def test_macro_f1_rejects_bad_input():
    with pytest.raises(ValueError, match="must both be"):
        metrics.macro_f1(torch.tensor([0, 1]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match=r"class ids in \[0, 2\)"):
        metrics.macro_f1(torch.tensor([0, 2]), torch.tensor([0, 1]), 2)
    with pytest.raises(ValueError, match="empty"):
        metrics.macro_f1(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), 2)


# ------------------------------------------------------------------------------------------- encoding


def test_lookup_falls_back_to_the_most_frequent_casing():
    vocab = Vocab.from_itos(["<unk>", "<pad>", "The", "Paris", "the", "paris_x"], specials=("<unk>", "<pad>"))
    find = classify.lookup(vocab)
    assert find("paris") == 3  # the most frequent casing
    assert find("The") == 2 and find("PARIS") == 3  # a capital: its own casing first, then the most frequent
    assert find("london") == vocab.unk_id


def test_a_lower_case_token_takes_the_most_frequent_casing_not_a_rare_lower_case_type():
    """The tokenizer lower-cases: "I" arrives as "i", and must not get WikiText-2's rare roman numeral "i"."""
    vocab = Vocab.from_itos(["<unk>", "<pad>", "the", "I", "U", "i", "u"], specials=("<unk>", "<pad>"))
    find = classify.lookup(vocab)
    tokens = text.wikitext_tokenize("I think u know the way")
    assert tokens[0] == "i" and tokens[2] == "u"
    assert [vocab.itos[find(t)] for t in ("i", "u", "the")] == ["I", "U", "the"]
    assert find("i") == 3 and classify.encode_texts(["I"], vocab) == [[3]]


def test_texts_that_tokenise_to_nothing_are_a_clear_error():
    vocab = Vocab(["good"])
    with pytest.raises(ValueError, match=r"texts\[1\] \(' '\) tokenises to nothing"):
        classify.encode_texts(["good", " "], vocab)
    with pytest.raises(TypeError, match="not one string"):
        classify.encode_texts("good", vocab)


def test_coverage_counts_tokens_and_types():
    vocab = Vocab(["good", "film"])
    cover = classify.coverage(["good good film", "bad film"], vocab)
    assert (cover.tokens, cover.known_tokens, cover.types, cover.known_types) == (5, 4, 3, 2)
    assert cover.token_rate == pytest.approx(0.8)


def test_restricted_vectors_keep_each_token_s_pretrained_row():
    vectors, itos = toy_vectors()
    texts = ["Good film", "so BAD"]
    vocab, table = transfer.restrict_vectors(vectors, itos, texts)
    assert vocab.itos == ["<unk>", "<pad>", "good", "bad", "film", "so"]  # itos order, unused rows dropped
    for word in ("good", "bad", "film", "so"):
        assert torch.equal(table[vocab[word]], vectors[itos.index(word)])
    assert torch.equal(table[:2], torch.zeros(2, 8))


def test_vocabulary_mismatch_between_vectors_and_vocab_is_a_clear_error():
    vectors, itos = toy_vectors()
    with pytest.raises(ValueError, match="vocabulary mismatch"):
        transfer.restrict_vectors(vectors, itos[:-1], ["good"])
    vocab = Vocab(["good", "bad"])
    with pytest.raises(ValueError, match="vocabulary mismatch: vectors has 11 rows but vocab has 6 types"):
        classify.EmbeddingEncoder(vocab, vectors=vectors)


def test_ids_from_another_vocabulary_are_a_clear_error():
    encoder = classify.EmbeddingEncoder(Vocab(["good"]), dim=4)
    ids = torch.tensor([[0, 40]])
    with pytest.raises(ValueError, match="encoder's vocabulary has 5 types"):
        encoder(ids, torch.ones_like(ids, dtype=torch.bool))


def test_encoder_protocol_is_checked():
    with pytest.raises(TypeError, match=r"\.vocab"):
        classify.Classifier(nn.Linear(2, 2), 2)
    encoder = classify.EmbeddingEncoder(Vocab(["good"]), dim=4)
    assert isinstance(encoder, classify.TokenEncoder)
    model = classify.Classifier(encoder, 2).eval()
    assert model(torch.tensor([[4, 1]]), torch.tensor([[True, False]])).shape == (1, 2)


def test_pooling_ignores_padding():
    vectors = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    assert torch.equal(classify.pool(vectors, mask), torch.tensor([[2.0, 1.0, 3.0, 4.0]]))
    with pytest.raises(ValueError, match="at least one real token"):
        classify.pool(vectors, torch.zeros(1, 3, dtype=torch.bool))


# ------------------------------------------------------------------------------------ frozen vs fine-tuned


@pytest.mark.parametrize("freeze", [True, False])
def test_frozen_vectors_never_change_and_fine_tuned_ones_do(freeze):
    task = toy_task()
    encoder = toy_encoder(freeze)
    before = encoder.embedding.weight.detach().clone()
    model = classify.Classifier(encoder, 2, hidden=8, dropout=0.0)
    train = classify.encode_examples(task, task.train, encoder, max_len=None)
    classify.train_classifier(model, train, steps=30, batch_size=4, lr=1e-2, encoder_lr=1e-2)
    after = encoder.embedding.weight.detach().cpu()
    assert torch.equal(before, after) == freeze
    if not freeze:
        changed = (after - before).norm(dim=1) > 0
        used = torch.zeros(len(encoder.vocab), dtype=torch.bool)
        used[train.ids[train.mask]] = True
        assert torch.equal(changed, used)  # exactly the rows of words seen in training move


def test_frozen_shortcut_gives_the_same_model_as_running_the_encoder():
    task = toy_task()
    encoder = toy_encoder(freeze=True)
    train = classify.encode_examples(task, task.train, encoder, max_len=None)
    heads = []
    for use_features in (False, True):
        torch.manual_seed(0)
        model = classify.Classifier(encoder, 2, hidden=8, dropout=0.0)
        features = classify.pooled_features(model.encoder, train) if use_features else None
        classify.train_classifier(model, train, steps=10, batch_size=4, features=features)
        heads.append(model.head.state_dict())
    for name in heads[0]:
        torch.testing.assert_close(heads[0][name], heads[1][name])


# ------------------------------------------------------------------------------------ learning curves


def test_labelled_subsets_are_stratified_nested_and_seeded():
    labels = torch.tensor([0] * 90 + [1] * 10)
    small, large = transfer.labelled_subset(labels, 20, seed=3), transfer.labelled_subset(labels, 40, seed=3)
    assert len(small) == 20 and int(labels[small].sum()) == 2
    assert set(small.tolist()) <= set(large.tolist())
    assert torch.equal(small, transfer.labelled_subset(labels, 20, seed=3))
    assert not torch.equal(small, transfer.labelled_subset(labels, 20, seed=4))
    assert int(labels[transfer.labelled_subset(labels, 2, seed=0)].sum()) == 1  # every class at least once
    assert torch.equal(transfer.labelled_subset(labels, None, seed=0), torch.arange(100))
    with pytest.raises(ValueError, match="at least the number of classes"):
        transfer.labelled_subset(labels, 1, seed=0)


def test_learning_curve_records_every_size_and_seed_and_learns_the_toy_task():
    task = toy_task()
    settings = toy_settings()
    records = transfer.learning_curve(lambda seed: toy_encoder(False, seed), task, "toy", settings)
    assert [(r["size"], r["seed"]) for r in records] == [(2, 0), (4, 0), (8, 0), (2, 1), (4, 1), (8, 1)]
    assert all(0 <= r["macro_f1"] <= 1 and 0 <= r["accuracy"] <= 1 for r in records)
    assert all(r["macro_f1"] == 1.0 for r in records if r["size"] == 8)
    again = transfer.learning_curve(lambda seed: toy_encoder(False, seed), task, "toy", settings)
    without_times = [[{k: v for k, v in r.items() if k != "clock"} for r in run] for run in (records, again)]
    assert without_times[0] == without_times[1]  # seeded: the same numbers twice
    assert all(r["clock"]["steps"] == r["steps"] and r["clock"]["threads"] >= 1 for r in records)


def test_learning_curve_leaves_a_frozen_encoder_untouched():
    task = toy_task()
    encoder = toy_encoder(True)
    before = encoder.embedding.weight.detach().clone()
    records = transfer.learning_curve(lambda seed: encoder, task, "frozen", toy_settings(seeds=(0,)))
    assert torch.equal(before, encoder.embedding.weight.detach().cpu())
    assert records[-1]["macro_f1"] == 1.0


def test_bag_of_words_learns_the_toy_task_and_summaries_average_seeds():
    task = toy_task()
    records = transfer.bag_of_words_curve(task, toy_settings())
    assert {r["variant"] for r in records} == {transfer.BAG_OF_WORDS}
    assert all(r["macro_f1"] == 1.0 for r in records if r["size"] == 8)
    summary = transfer.summarise(records)
    mean, std = summary[("toy", transfer.BAG_OF_WORDS, 8)]
    assert (mean, std) == (1.0, 0.0)


def test_bag_of_words_matches_a_hand_fitted_logistic_regression():
    # One feature per text and a bias: the optimum of the regularised objective has a closed-form check,
    # its gradient is zero there.
    texts = ["good", "good", "bad", "bad", "good"]
    labels = torch.tensor([1, 1, 0, 0, 0])
    model = transfer.train_bag_of_words(texts, labels, 2, c=1.0, max_iter=200)
    weight, bias = model.weights.weight.detach().clone().requires_grad_(), model.bias.detach().clone().requires_grad_()
    flat, offsets = model.bags(texts)
    logits = nn.functional.embedding_bag(flat, weight, offsets, mode="sum") + bias
    loss = nn.functional.cross_entropy(logits, labels) + weight.pow(2).sum() / (2 * len(texts))
    loss.backward()
    assert weight.grad.abs().max() < 1e-4 and bias.grad.abs().max() < 1e-4
    assert transfer.predict_bag_of_words(model, ["good", "bad"]).tolist() == [1, 0]


def test_bag_of_words_is_binary_logistic_regression_at_twice_c():
    """Two class rows, each penalised: for two classes that is scikit-learn's binary model at C = 2 · c."""
    texts = ["good fun", "good", "bad film", "bad", "good film", "fun", "bad fun", "film"]
    labels = torch.tensor([1, 1, 0, 0, 1, 1, 0, 0])
    c = 0.5
    model = transfer.train_bag_of_words(texts, labels, 2, c=c, max_iter=500)
    rows, bias = model.weights.weight.detach().double(), model.bias.detach().double()
    assert torch.allclose(rows[:, 0], -rows[:, 1], atol=1e-4)  # the rows are −d/2 and +d/2
    d = (rows[:, 1] - rows[:, 0]).requires_grad_()
    b = (bias[1] - bias[0]).requires_grad_()
    flat, offsets = model.bags(texts)
    x = torch.zeros(len(texts), rows.shape[0], dtype=torch.float64)  # word presence
    for i, (start, stop) in enumerate(zip(offsets.tolist(), [*offsets.tolist()[1:], len(flat)], strict=True)):
        x[i, flat[start:stop]] = 1.0
    sklearn_c = 2 * c  # scikit-learn: C · Σ log-loss + ‖d‖² / 2, divided here by C · n
    loss = nn.functional.binary_cross_entropy_with_logits(x @ d + b, labels.double())
    loss = loss + d.pow(2).sum() / (2 * sklearn_c * len(texts))
    loss.backward()
    assert d.grad.abs().max() < 1e-4 and b.grad.abs() < 1e-4  # the optimum of the binary model at C = 2c


def test_text_task_labels_must_be_in_the_label_set():
    task = toy_task()
    with pytest.raises(ValueError, match="not in the label set"):
        task.label_ids([Example("good", "maybe")])
    with pytest.raises(ValueError, match="not in the label set"):
        TextTask("bad", LABELS, (Example("good", "maybe"), *task.train), task.valid, task.test)


def test_a_class_missing_from_a_split_is_a_clear_error():
    task = toy_task()
    with pytest.raises(ValueError, match=r"class\(es\) \['neg'\] are missing from the test split"):
        TextTask("bad", LABELS, task.train, task.valid, task.test[:1])


def test_embedding_encoder_variants_share_vocabulary_and_scale(monkeypatch):
    vectors, itos = toy_vectors()
    monkeypatch.setattr(transfer, "word2vec_vectors", lambda: (vectors, itos))
    transfer._task_vectors.cache_clear()
    task = toy_task()
    random, frozen, tuned = (transfer.embedding_encoder(task, v, seed=0) for v in transfer.EMBEDDING_VARIANTS)
    assert random.vocab.itos == frozen.vocab.itos == tuned.vocab.itos
    assert classify.is_frozen(frozen) and not classify.is_frozen(tuned) and not classify.is_frozen(random)
    assert torch.equal(frozen.embedding.weight, tuned.embedding.weight)
    std = frozen.embedding.weight[2:].std()
    assert random.embedding.weight.std().item() == pytest.approx(std.item(), rel=0.3)
    with pytest.raises(ValueError, match="variant must be one of"):
        transfer.embedding_encoder(task, "glove", seed=0)


def test_real_tasks_encode_without_empty_texts():
    for name in data.TEXT_TASKS:
        task = data.text_task(name)
        vocab = Vocab(["the"])
        for split in ("train", "valid", "test"):
            classify.encode_texts([e.text for e in task.split(split)], vocab)  # raises on an empty text
