"""Transfer: how many labelled examples a pretrained representation saves (Chapter 5; Chapters 6 and 11).

:func:`learning_curve` trains :mod:`n2t.classify`'s classifier on a fresh token encoder for every labelled-set
size and seed of the profile's ``transfer`` section, on the same stratified, nested subsets for every encoder,
and records the test macro-F1 and accuracy of each run with its clock (:mod:`n2t.clock`). Chapter 5's encoders
are word vectors (random, or word2vec's frozen or fine-tuned: :func:`embedding_encoder`); Chapter 6 adds ELMo
and Chapter 11 BERT and T5, through the same function. The counting baseline, a bag-of-words logistic
regression (:func:`bag_of_words_curve`), is fitted on the same subsets.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from n2t import profile, zoo
from n2t.checks import not_a_string
from n2t.classify import (
    Classifier,
    EmbeddingEncoder,
    check_encoder,
    encode_examples,
    encode_texts,
    is_frozen,
    lookup,
    pooled_features,
    predict,
    scores,
    train_classifier,
)
from n2t.clock import Clock
from n2t.data import TextTask, text_task
from n2t.progress import progress
from n2t.text import PAD, UNK, Vocab, wikitext_tokenize
from n2t.train import device, seed_everything

# ------------------------------------------------------------------------------------ word vectors


def restrict_vectors(
    vectors: torch.Tensor, itos: Sequence[str], texts: Iterable[str],
    tokenize: Callable[[str], list[str]] = wikitext_tokenize,
) -> tuple[Vocab, torch.Tensor]:
    """The rows of pretrained ``vectors`` that tokens of ``texts`` look up, as a vocabulary and a table.

    The new vocabulary is ``<unk> <pad>`` then the words in ``itos`` order. ``<pad>`` gets a zero vector, and so
    does ``<unk>`` unless ``itos`` has an ``<unk>`` row of its own (word2vec's WikiText-2 vectors do: the
    corpus's stand-in for its rare words), which it keeps. A token finds the same word in it as in the full
    ``itos``, so a classifier sees the same vectors, while training updates a table of thousands of rows
    instead of tens of thousands.
    """
    not_a_string("texts", texts, "texts")
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2:
        raise ValueError("vectors must be a (|V|, dim) tensor")
    if vectors.shape[0] != len(itos):
        raise ValueError(f"vocabulary mismatch: vectors has {vectors.shape[0]} rows but itos names {len(itos)} words")
    specials = (UNK, PAD)
    clash = [w for w in specials if w in itos]
    full = Vocab.from_itos([*specials, *(w for w in itos if w not in specials)], specials=specials)
    find = lookup(full)
    rows = sorted({find(t) for text in texts for t in tokenize(text)} - {full.unk_id, full.pad_id})
    vocab = Vocab.from_itos([*specials, *(full.itos[r] for r in rows)], specials=specials)
    source = {w: i for i, w in enumerate(itos)}
    table = torch.zeros(len(vocab), vectors.shape[1])
    table[len(specials):] = vectors[[source[full.itos[r]] for r in rows]].float()
    if clash:  # a pretrained <unk> row is the natural vector for unknown words
        table[0] = vectors[source[UNK]].float() if UNK in source else 0.0
    return vocab, table


EMBEDDING_VARIANTS = ("random", "word2vec frozen", "word2vec fine-tuned")


def word2vec_vectors() -> tuple[torch.Tensor, list[str]]:
    """Chapter 4's skip-gram vectors ``(|V|, dim)`` and their words, from the zoo artefact ``word2vec-skipgram``."""
    state = zoo.get("word2vec-skipgram").state
    return state["vectors"], list(state["itos"])


@functools.cache
def _task_vectors(task: TextTask, profile_name: str) -> tuple[Vocab, torch.Tensor]:
    """The word2vec rows that ``task``'s texts use (computed once per task and profile)."""
    vectors, itos = word2vec_vectors()
    texts = [e.text for split in (task.train, task.valid, task.test) for e in split]
    return restrict_vectors(vectors, itos, texts)


def embedding_encoder(task: TextTask, variant: str, seed: int = 0) -> EmbeddingEncoder:
    """Chapter 5's encoder for ``task``: ``"random"``, ``"word2vec frozen"`` or ``"word2vec fine-tuned"``.

    All three share one vocabulary (the word2vec words that the task's texts use) and one scale: the random
    table is drawn with the standard deviation of the pretrained vectors, so only what the vectors know differs.
    """
    if variant not in EMBEDDING_VARIANTS:
        raise ValueError(f"variant must be one of {EMBEDDING_VARIANTS}; got {variant!r}")
    vocab, table = _task_vectors(task, profile.current().name)
    if variant == "random":
        return EmbeddingEncoder(vocab, dim=table.shape[1], init_std=float(table[2:].std()), seed=seed)
    return EmbeddingEncoder(vocab, vectors=table, freeze=variant == "word2vec frozen")


# ------------------------------------------------------------------------------------ learning curve


def labelled_subset(labels: torch.Tensor, size: int | None, seed: int) -> torch.Tensor:
    """Indices of ``size`` examples drawn stratified by label with ``seed`` (``None``: all), sorted.

    For one seed the subsets are nested: the 64 examples contain the 32. Every class gets at least one example.
    """
    labels = torch.as_tensor(labels)
    classes = labels.unique().tolist()
    if size is None or size >= labels.numel():
        return torch.arange(labels.numel())
    if size < len(classes):
        raise ValueError(f"size ({size}) must be at least the number of classes ({len(classes)})")
    generator = torch.Generator().manual_seed(seed)
    members = [torch.nonzero(labels == c).flatten() for c in classes]
    members = [m[torch.randperm(m.numel(), generator=generator)] for m in members]
    counts = [max(1, round(size * m.numel() / labels.numel())) for m in members]
    largest = max(range(len(counts)), key=lambda c: counts[c])
    counts[largest] += size - sum(counts)
    return torch.cat([m[:n] for m, n in zip(members, counts, strict=True)]).sort().values


def steps_for(size: int, settings: Any) -> int:
    """Training steps for ``size`` labelled examples: ``epochs`` passes, clamped to [min_steps, max_steps]."""
    return min(settings.max_steps, max(settings.min_steps, math.ceil(settings.epochs * size / settings.batch_size)))


def fresh(encoder: nn.Module) -> nn.Module:
    """An untrained copy of ``encoder`` for a new run; a frozen one is shared (training never changes it)."""
    return encoder if is_frozen(encoder) else copy.deepcopy(encoder)


def _settings(settings: Any | None) -> Any:
    return settings if settings is not None else profile.current().settings("transfer")


def _record(task: TextTask, variant: str, size: int, seed: int, steps: int, result: dict[str, float],
            clock: Clock) -> dict:
    return {"task": task.name, "variant": variant, "size": size, "seed": seed, "steps": steps, **result,
            "clock": clock.reading()}


def learning_curve(
    make_encoder: Callable[[int], nn.Module], task: TextTask, variant: str, settings: Any | None = None,
    encoder_lr: float | None = None, on_run: Callable[[Classifier, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train the classifier on a fresh ``make_encoder(seed)`` for every (size, seed) of the profile's ``transfer``.

    Returns one record per run: ``task``, ``variant``, ``size`` (labelled examples), ``seed``, ``steps``, the
    test ``macro_f1`` and ``accuracy``, and the run's ``clock``. A frozen encoder's pooled vectors are computed
    once per seed (counted in the clock of its first run). ``on_run(model, record)``, if given, sees every
    trained classifier with its record (e.g. to read what its encoder learned).
    """
    settings = _settings(settings)
    encoder_lr = settings.encoder_lr if encoder_lr is None else encoder_lr
    records = []
    runs = progress(total=len(settings.seeds) * len(settings.sizes), desc=f"{task.name}: {variant}")
    for seed in settings.seeds:
        seed_everything(seed)
        encoder = make_encoder(seed)
        check_encoder(encoder)
        train = encode_examples(task, task.train, encoder, settings.max_len)
        test = encode_examples(task, task.test, encoder, settings.max_len)
        clock = Clock("steps", device())
        if is_frozen(encoder):  # a frozen encoder runs once: its pooled vectors serve every size
            with clock.running():
                train = train.with_features(pooled_features(encoder, train))
            test = test.with_features(pooled_features(encoder, test))
        for size in settings.sizes:
            # [curve]
            index = labelled_subset(train.labels, size, seed)  # stratified, nested
            seed_everything(seed)
            model = Classifier(fresh(encoder), len(task.labels), settings.hidden,
                               settings.dropout)
            steps = steps_for(len(index), settings)
            with clock.running():
                train_classifier(model, train.select(index), steps, settings.batch_size,
                                 settings.lr, encoder_lr, seed)
            result = scores(predict(model, test), test.labels, len(task.labels))
            # [/curve]
            clock.seen = steps
            records.append(_record(task, variant, len(index), seed, steps, result, clock))
            if on_run is not None:
                on_run(model, records[-1])
            clock = Clock("steps", device())
            runs.update(1)
    runs.close()
    return records


def total_clock(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of the clocks of ``records`` (one reading): what a whole curve cost to train."""
    total = Clock("steps", device())
    for record in records:
        run = Clock("steps", record["clock"]["device"])
        run.seen, run.cpu_seconds = record["clock"]["steps"], record["clock"]["cpu_seconds"]
        run.wall_seconds, run.threads = record["clock"]["wall_seconds"], record["clock"]["threads"]
        total.add(run)
    return total.reading()


# --------------------------------------------------------------------------------- bag-of-words baseline


class BagOfWords(nn.Module):
    """Logistic regression on bags of words: each type present in a text adds its row of class scores."""

    def __init__(self, vocab: Vocab, num_classes: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.weights = nn.EmbeddingBag(len(vocab), num_classes, mode="sum")
        nn.init.zeros_(self.weights.weight)
        self.bias = nn.Parameter(torch.zeros(num_classes))

    def bags(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The distinct known type ids of every text, flat, with each text's offset."""
        bags = [sorted(set(ids) - {self.vocab.unk_id}) for ids in encode_texts(texts, self.vocab)]
        offsets = torch.tensor([0, *torch.tensor([len(b) for b in bags]).cumsum(0)[:-1].tolist()])
        return torch.tensor([i for b in bags for i in b], dtype=torch.long), offsets

    def forward(self, flat: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Bags (flat ids and offsets) → class scores ``(texts, classes)``."""
        return self.weights(flat, offsets) + self.bias


def train_bag_of_words(
    texts: Sequence[str], labels: torch.Tensor, num_classes: int, c: float = 1.0, max_iter: int = 100
) -> BagOfWords:
    """Fit :class:`BagOfWords` with L-BFGS: mean cross-entropy + ‖W‖² / (2 · c · n) over all the class rows of W.

    For two classes only the difference d of the two rows matters, and at the optimum the rows are ±d/2, so
    the penalty is ‖d‖² / (4 · c · n): scikit-learn's binary logistic regression (one weight vector, bias not
    penalised) at ``C = 2 · c``, on word presence rather than counts. The vocabulary is every type of the
    training texts; a type never seen in training is ignored at test time.
    """
    if c <= 0:
        raise ValueError(f"c (the inverse regularisation strength) must be positive; got {c}")
    tokens = [t for text in texts for t in wikitext_tokenize(text)]
    model = BagOfWords(Vocab(tokens, specials=(UNK,)), num_classes)
    flat, offsets = model.bags(texts)
    labels = torch.as_tensor(labels)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, line_search_fn="strong_wolfe")
    penalty = 1 / (2 * c * len(texts))

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(flat, offsets), labels) + penalty * model.weights.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    model.steps = optimizer.state[optimizer._params[0]]["n_iter"]  # L-BFGS iterations taken
    return model


@torch.no_grad()
def predict_bag_of_words(model: BagOfWords, texts: Sequence[str]) -> torch.Tensor:
    """The predicted class ids ``(texts,)``."""
    return model(*model.bags(texts)).argmax(dim=-1)


BAG_OF_WORDS = "bag of words"


def bag_of_words_curve(task: TextTask, settings: Any | None = None) -> list[dict[str, Any]]:
    """The bag-of-words logistic regression on the same (size, seed) subsets as :func:`learning_curve`."""
    settings = _settings(settings)
    labels = task.label_ids(task.train)
    test_texts, test_labels = [e.text for e in task.test], task.label_ids(task.test)
    records = []
    for seed in settings.seeds:
        for size in settings.sizes:
            index = labelled_subset(labels, size, seed).tolist()
            clock = Clock("steps", "cpu")
            with clock.running():
                model = train_bag_of_words([task.train[i].text for i in index], labels[index], len(task.labels),
                                           settings.bow_c)
            clock.seen = model.steps
            predictions = predict_bag_of_words(model, test_texts)
            records.append(_record(task, BAG_OF_WORDS, len(index), seed, 0,
                                   scores(predictions, test_labels, len(task.labels)), clock))
    return records


def summarise(records: Iterable[dict[str, Any]], metric: str = "macro_f1") -> dict[tuple[str, str, int], tuple[float, float]]:
    """``(task, variant, size) → (mean, standard deviation over seeds)`` of ``metric``."""
    groups: dict[tuple[str, str, int], list[float]] = {}
    for r in records:
        groups.setdefault((r["task"], r["variant"], r["size"]), []).append(r[metric])
    out = {}
    for key, values in groups.items():
        t = torch.tensor(values, dtype=torch.float64)
        out[key] = (t.mean().item(), t.std(unbiased=True).item() if t.numel() > 1 else 0.0)
    return out


# --------------------------------------------------------------------------------------------- the zoo


@zoo.register("transfer-curves", section="transfer")
def train_transfer_curves(settings: Any) -> tuple[dict, dict]:
    """Chapter 5's learning curves: random, word2vec frozen and fine-tuned, and bag of words, on every task."""
    records = []
    for name in settings.tasks:
        task = text_task(name)
        for variant in EMBEDDING_VARIANTS:
            records += learning_curve(lambda seed, v=variant, t=task: embedding_encoder(t, v, seed), task, variant,
                                      settings)
        records += bag_of_words_curve(task, settings)
    sizes = torch.tensor([r["size"] for r in records])
    return {"sizes": sizes}, {"records": records, "clock": total_clock(records)}
