"""The downstream task's classifier: token encoders, a pooled classifier, learning curves, a counting baseline.

**Token encoders.** A *token encoder* is an ``nn.Module`` with

- ``vocab``: an :class:`n2t.data.Vocab`, the ids it expects;
- ``dim``: the width of the vectors it returns;
- ``forward(ids (batch, time) long, mask (batch, time) bool, True = real token) -> (batch, time, dim)``;
- optionally ``tokenize(text) -> list[str]`` (default :func:`n2t.data.ptb_tokenize`).

Tokens are looked up in ``vocab`` in their own casing first, then in their most frequent casing ("paris" finds
"Paris"), else ``<unk>``. Chapter 5's :class:`EmbeddingEncoder` gives each token its vector from a table (random,
or word2vec frozen or fine-tuned); Chapter 6's ELMo encoder and Chapter 11's BERT encoder give context-dependent
vectors through the same interface, so :func:`learning_curve` compares all of them on the same data.

**The classifier** pools the token vectors (mean and max over the real tokens) and applies a one-hidden-layer
MLP. The pooling has no parameters, so differences between encoders are differences between their vectors.
"""

from __future__ import annotations

import copy
import math
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn
from torch.nn import functional as F

from n2t import profile, zoo
from n2t.data import PAD, UNK, Example, TextTask, Vocab, lengths_to_mask, ptb_tokenize, text_task
from n2t.metrics import accuracy, macro_f1
from n2t.train import device, progress, seed_everything

# -------------------------------------------------------------------------------------- the protocol


@runtime_checkable
class TokenEncoder(Protocol):
    """What the classifier needs from an encoder: its vocabulary, its width, and token vectors."""

    vocab: Vocab
    dim: int

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


def check_encoder(encoder: Any) -> None:
    """Raise a clear error unless ``encoder`` is an ``nn.Module`` with ``vocab`` (a Vocab) and ``dim`` (> 0)."""
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be an nn.Module; got {type(encoder).__name__}")
    if not isinstance(getattr(encoder, "vocab", None), Vocab):
        raise TypeError(f"encoder {type(encoder).__name__} must have .vocab, an n2t.data.Vocab (the ids it expects)")
    dim = getattr(encoder, "dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise TypeError(f"encoder {type(encoder).__name__} must have .dim, a positive int; got {dim!r}")


def is_frozen(encoder: nn.Module) -> bool:
    """Whether ``encoder`` has no trainable parameter (then its vectors can be computed once and reused)."""
    return not any(p.requires_grad for p in encoder.parameters())


# ------------------------------------------------------------------------------------------ lookup


class TokenLookup:
    """Token → id in ``vocab``: the token's own casing first, then its most frequent casing, else ``<unk>``.

    ``vocab.itos`` is assumed to be ordered by descending frequency after its specials (every vocabulary of the
    book is), so the first casing of a word in it is the most frequent one.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.folded: dict[str, int] = {}
        for i, token in enumerate(vocab.itos):
            if token not in vocab.specials:
                self.folded.setdefault(token.lower(), i)

    def __call__(self, token: str) -> int:
        i = self.vocab.stoi.get(token)
        if i is None:
            i = self.folded.get(token.lower(), self.vocab.unk_id)
        return i

    def known(self, token: str) -> bool:
        """Whether ``token`` gets a real vector (any id but ``<unk>``)."""
        return self(token) != self.vocab.unk_id


_LOOKUPS: weakref.WeakKeyDictionary[Vocab, TokenLookup] = weakref.WeakKeyDictionary()


def lookup(vocab: Vocab) -> TokenLookup:
    """The (cached) :class:`TokenLookup` of ``vocab``."""
    if vocab not in _LOOKUPS:
        _LOOKUPS[vocab] = TokenLookup(vocab)
    return _LOOKUPS[vocab]


def tokenizer_of(encoder: Any) -> Callable[[str], list[str]]:
    """The encoder's ``tokenize`` if it has one, else :func:`n2t.data.ptb_tokenize`."""
    return getattr(encoder, "tokenize", ptb_tokenize)


def encode_texts(
    texts: Sequence[str], vocab: Vocab, tokenize: Callable[[str], list[str]] = ptb_tokenize,
    max_len: int | None = None,
) -> list[list[int]]:
    """Tokenise each text and look its tokens up in ``vocab`` (cut to ``max_len`` tokens if given).

    A text that tokenises to nothing is a ``ValueError`` naming it: the classifier cannot pool zero vectors.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be a positive number of tokens or None; got {max_len}")
    find = lookup(vocab)
    encoded = []
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        if not tokens:
            raise ValueError(f"texts[{i}] ({text!r}) tokenises to nothing; every text needs at least one token")
        encoded.append([find(t) for t in tokens[:max_len]])
    return encoded


def pad_ids(encoded: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Id lists → padded ids ``(batch, time)`` and mask ``(batch, time)`` (True = real token)."""
    if not encoded:
        raise ValueError("encoded is empty; need at least one text")
    lengths = torch.tensor([len(ids) for ids in encoded])
    mask = lengths_to_mask(lengths)
    ids = torch.full(mask.shape, pad_id, dtype=torch.long)
    ids[mask] = torch.tensor([i for row in encoded for i in row], dtype=torch.long)
    return ids, mask


@dataclass(frozen=True)
class Coverage:
    """How much of a text collection a vocabulary covers, by running tokens and by distinct types."""

    tokens: int
    known_tokens: int
    types: int
    known_types: int

    @property
    def token_rate(self) -> float:
        """Share of running tokens that get a vector."""
        return self.known_tokens / self.tokens

    @property
    def type_rate(self) -> float:
        """Share of distinct types that get a vector."""
        return self.known_types / self.types


def coverage(texts: Iterable[str], vocab: Vocab, tokenize: Callable[[str], list[str]] = ptb_tokenize) -> Coverage:
    """The :class:`Coverage` of ``vocab`` on ``texts`` (a token is covered if it is not ``<unk>``)."""
    find = lookup(vocab)
    counts: dict[str, int] = {}
    for text in texts:
        for token in tokenize(text):
            counts[token] = counts.get(token, 0) + 1
    if not counts:
        raise ValueError("texts hold no tokens; nothing to measure")
    known = {t: find.known(t) for t in counts}
    return Coverage(
        tokens=sum(counts.values()), known_tokens=sum(c for t, c in counts.items() if known[t]),
        types=len(counts), known_types=sum(known.values()),
    )


# ------------------------------------------------------------------------------------------ encoders


class EmbeddingEncoder(nn.Module):
    """Token vectors from a table, one row per type: random, or pretrained and frozen or fine-tuned.

    With ``vectors`` (``(len(vocab), dim)``) the table starts from them; without, it is drawn from
    N(0, ``init_std``²) with ``seed``. ``freeze=True`` keeps the table fixed during training.
    """

    def __init__(
        self, vocab: Vocab, dim: int | None = None, vectors: torch.Tensor | None = None, freeze: bool = False,
        init_std: float = 0.1, seed: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(vocab, Vocab):
            raise TypeError(f"vocab must be an n2t.data.Vocab; got {type(vocab).__name__}")
        if vectors is None:
            if dim is None or dim < 1:
                raise ValueError(f"without vectors, dim must be a positive width; got {dim!r}")
            generator = torch.Generator().manual_seed(seed)
            vectors = torch.randn(len(vocab), dim, generator=generator) * init_std
        else:
            vectors = torch.as_tensor(vectors)
            if vectors.dim() != 2 or not vectors.is_floating_point():
                raise ValueError(f"vectors must be a float (|V|, dim) matrix; got {vectors.dtype} {tuple(vectors.shape)}")
            if vectors.shape[0] != len(vocab):
                raise ValueError(
                    f"vocabulary mismatch: vectors has {vectors.shape[0]} rows but vocab has {len(vocab)} types; "
                    f"row i must be the vector of vocab.itos[i]"
                )
            if dim is not None and dim != vectors.shape[1]:
                raise ValueError(f"dim ({dim}) disagrees with the vectors' width ({vectors.shape[1]})")
        self.vocab = vocab
        self.dim = int(vectors.shape[1])
        # Sparse gradients: a step touches only the rows of the batch's words (trained with SparseAdam).
        self.embedding = nn.Embedding.from_pretrained(vectors.float().clone(), freeze=freeze, sparse=True)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Ids ``(batch, time)`` and mask ``(batch, time)`` → vectors ``(batch, time, dim)``, zero at padding."""
        if ids.shape != mask.shape or ids.dim() != 2:
            raise ValueError(f"ids {tuple(ids.shape)} and mask {tuple(mask.shape)} must both be (batch, time)")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(self.vocab)):
            raise ValueError(
                f"ids hold {int(ids.max())}, but the encoder's vocabulary has {len(self.vocab)} types: "
                f"encode the texts with this encoder's vocab"
            )
        return self.embedding(ids) * mask.unsqueeze(-1)


def restrict_vectors(
    vectors: torch.Tensor, itos: Sequence[str], texts: Iterable[str],
    tokenize: Callable[[str], list[str]] = ptb_tokenize,
) -> tuple[Vocab, torch.Tensor]:
    """The rows of pretrained ``vectors`` that tokens of ``texts`` look up, as a vocabulary and a table.

    The new vocabulary is ``<unk> <pad>`` then the words in ``itos`` order; ``<unk>`` and ``<pad>`` get zero
    vectors. A token finds the same word in it as in the full ``itos``, so a classifier sees the same vectors,
    while training updates a table of thousands of rows instead of tens of thousands.
    """
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


def embedding_encoder(task: TextTask, variant: str, seed: int = 0) -> EmbeddingEncoder:
    """Chapter 5's encoder for ``task``: ``"random"``, ``"word2vec frozen"`` or ``"word2vec fine-tuned"``.

    All three share one vocabulary (the word2vec words that the task's texts use) and one scale: the random
    table is drawn with the standard deviation of the pretrained vectors, so only what the vectors know differs.
    """
    if variant not in EMBEDDING_VARIANTS:
        raise ValueError(f"variant must be one of {EMBEDDING_VARIANTS}; got {variant!r}")
    vectors, itos = word2vec_vectors()
    texts = [e.text for split in (task.train, task.valid, task.test) for e in split]
    vocab, table = restrict_vectors(vectors, itos, texts)
    if variant == "random":
        return EmbeddingEncoder(vocab, dim=table.shape[1], init_std=float(table[2:].std()), seed=seed)
    return EmbeddingEncoder(vocab, vectors=table, freeze=variant == "word2vec frozen")


# ---------------------------------------------------------------------------------------- classifier


def pool(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and max over the real tokens: ``(batch, time, dim)`` → ``(batch, 2 · dim)``."""
    if not bool(mask.any(dim=1).all()):
        raise ValueError("every row of mask needs at least one real token (True) to pool")
    weights = mask.unsqueeze(-1).to(vectors.dtype)
    mean = (vectors * weights).sum(dim=1) / weights.sum(dim=1)
    largest = vectors.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
    return torch.cat([mean, largest], dim=-1)


class Classifier(nn.Module):
    """A token encoder, mean-and-max pooling, and a one-hidden-layer MLP that scores the classes.

    The head first standardises each pooled feature (batch normalisation): averages of word vectors differ
    little from text to text, and the head would otherwise need large weights to see those differences.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        check_encoder(encoder)
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2; got {num_classes}")
        self.encoder = encoder
        self.head = nn.Sequential(
            nn.BatchNorm1d(2 * encoder.dim), nn.Dropout(dropout), nn.Linear(2 * encoder.dim, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def features(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooled token vectors ``(batch, 2 · dim)``."""
        return pool(self.encoder(ids, mask), mask)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Ids and mask ``(batch, time)`` → class scores ``(batch, classes)``."""
        return self.head(self.features(ids, mask))


@dataclass
class Encoded:
    """Examples ready for a classifier: padded ids and mask ``(examples, time)``, label ids ``(examples,)``."""

    ids: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.labels.numel()

    def rows(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids and mask of the examples at ``index``, cut to the longest of them."""
        mask = self.mask[index]
        width = int(mask.sum(dim=1).max())
        return self.ids[index, :width], mask[:, :width]


def encode_examples(task: TextTask, examples: Sequence[Example], encoder: nn.Module, max_len: int | None) -> Encoded:
    """Tokenise and look up ``examples`` for ``encoder``, with their label ids."""
    check_encoder(encoder)
    encoded = encode_texts([e.text for e in examples], encoder.vocab, tokenizer_of(encoder), max_len)
    ids, mask = pad_ids(encoded, encoder.vocab.stoi.get(PAD, encoder.vocab.unk_id))
    return Encoded(ids, mask, task.label_ids(examples))


def _steps(size: int, settings: Any) -> int:
    return min(settings.max_steps, max(settings.min_steps, math.ceil(settings.epochs * size / settings.batch_size)))


def train_classifier(
    model: Classifier, data: Encoded, steps: int, batch_size: int = 32, lr: float = 3e-3,
    encoder_lr: float = 1e-3, seed: int = 0, features: torch.Tensor | None = None,
) -> list[float]:
    """Train ``model`` for ``steps`` Adam steps on shuffled mini-batches of ``data``; returns the losses.

    Each pass over the data is a fresh permutation cut into whole batches (the remainder waits for the next).

    The head learns at ``lr``, the encoder (if any of it is trainable) at ``encoder_lr``; a sparse embedding
    table learns with SparseAdam (only the rows of the batch's words move at each step). With ``features``
    (``(examples, 2 · dim)``, the pooled vectors of a frozen encoder) only the head runs: the same result, faster.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1; got {steps} and {batch_size}")
    dev = device()
    model.to(dev)
    groups = [{"params": list(model.head.parameters()), "lr": lr}]
    sparse = {id(m.weight): m.weight for m in model.encoder.modules()
              if isinstance(m, nn.Embedding | nn.EmbeddingBag) and m.sparse and m.weight.requires_grad}
    trainable = [p for p in model.encoder.parameters() if p.requires_grad and id(p) not in sparse]
    optimizers = []
    if features is None:
        if trainable:
            groups.append({"params": trainable, "lr": encoder_lr})
        if sparse:
            optimizers.append(torch.optim.SparseAdam(list(sparse.values()), lr=encoder_lr))
    optimizers.append(torch.optim.Adam(groups))
    generator = torch.Generator().manual_seed(seed)
    order, cursor, losses = torch.randperm(len(data), generator=generator), 0, []
    model.train()
    batch_size = min(batch_size, len(data))
    for _ in range(steps):
        if cursor + batch_size > len(order):  # only whole batches: normalisation needs more than one example
            order, cursor = torch.randperm(len(data), generator=generator), 0
        index = order[cursor : cursor + batch_size]
        cursor += batch_size
        if features is not None:
            logits = model.head(features[index].to(dev))
        else:
            ids, mask = data.rows(index)
            logits = model(ids.to(dev), mask.to(dev))
        loss = F.cross_entropy(logits, data.labels[index].to(dev))
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def pooled_features(model: Classifier, data: Encoded, batch_size: int = 512) -> torch.Tensor:
    """The pooled vectors ``(examples, 2 · dim)`` of every example, in eval mode."""
    was_training = model.training
    model.eval()
    dev = device()
    model.to(dev)
    chunks = []
    for start in range(0, len(data), batch_size):
        ids, mask = data.rows(torch.arange(start, min(start + batch_size, len(data))))
        chunks.append(model.features(ids.to(dev), mask.to(dev)).cpu())
    model.train(was_training)
    return torch.cat(chunks)


@torch.no_grad()
def predict(model: Classifier, data: Encoded, features: torch.Tensor | None = None) -> torch.Tensor:
    """The predicted class ids ``(examples,)``."""
    model.eval()
    features = pooled_features(model, data) if features is None else features
    return model.head(features.to(device())).argmax(dim=-1).cpu()


def scores(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Macro-F1 and accuracy of ``predictions`` against ``labels``."""
    return {"macro_f1": macro_f1(predictions, labels, num_classes), "accuracy": accuracy(predictions, labels)}


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


def _settings(settings: Any | None) -> Any:
    return settings if settings is not None else profile.current().settings("transfer")


def _record(task: TextTask, variant: str, size: int, seed: int, steps: int, result: dict[str, float]) -> dict:
    return {"task": task.name, "variant": variant, "size": size, "seed": seed, "steps": steps, **result}


def learning_curve(
    make_encoder: Callable[[int], nn.Module], task: TextTask, variant: str, settings: Any | None = None,
    encoder_lr: float | None = None,
) -> list[dict[str, Any]]:
    """Train the classifier on a fresh ``make_encoder(seed)`` for every (size, seed) of the profile's ``transfer``.

    Returns one record per run: ``task``, ``variant``, ``size`` (labelled examples), ``seed``, ``steps``, and the
    test ``macro_f1`` and ``accuracy``. A frozen encoder's pooled vectors are computed once per seed.
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
        frozen = is_frozen(encoder)
        for size in settings.sizes:
            index = labelled_subset(train.labels, size, seed)
            seed_everything(seed)
            model = Classifier(encoder if frozen else copy.deepcopy(encoder), len(task.labels),
                               settings.hidden, settings.dropout)
            if frozen and size == settings.sizes[0]:
                train_features, test_features = pooled_features(model, train), pooled_features(model, test)
            subset = Encoded(train.ids[index], train.mask[index], train.labels[index])
            steps = _steps(len(index), settings)
            train_classifier(
                model, subset, steps, settings.batch_size, settings.lr, encoder_lr, seed,
                features=train_features[index] if frozen else None,
            )
            predictions = predict(model, test, test_features if frozen else None)
            records.append(_record(task, variant, len(index), seed, steps,
                                   scores(predictions, test.labels, len(task.labels))))
            runs.update(1)
    runs.close()
    return records


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
    """Fit :class:`BagOfWords` with L-BFGS: mean cross-entropy + ‖W‖² / (2 · c · n), scikit-learn's objective / n.

    The vocabulary is every type of the training texts; a type never seen in training is ignored at test time.
    """
    if c <= 0:
        raise ValueError(f"c (the inverse regularisation strength) must be positive; got {c}")
    tokens = [t for text in texts for t in ptb_tokenize(text)]
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
            model = train_bag_of_words([task.train[i].text for i in index], labels[index], len(task.labels),
                                       settings.bow_c)
            predictions = predict_bag_of_words(model, test_texts)
            records.append(_record(task, BAG_OF_WORDS, len(index), seed, 0,
                                   scores(predictions, test_labels, len(task.labels))))
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
    return {"sizes": sizes}, {"records": records, "device": str(device())}
