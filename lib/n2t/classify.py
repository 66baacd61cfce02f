"""The downstream task's classifier: token encoders and a pooled classifier (Chapter 5).

**Token encoders.** A *token encoder* is an ``nn.Module`` with

- ``vocab``: an :class:`n2t.text.Vocab`, the ids it expects;
- ``dim``: the width of the vectors it returns;
- ``forward(ids (batch, time) long, mask (batch, time) bool, True = real token) -> (batch, time, dim)``;
- optionally ``tokenize(text) -> list[str]`` (default :func:`n2t.text.wikitext_tokenize`).

Tokens are looked up in ``vocab`` by :class:`TokenLookup`: a lower-case token (all that the book's lower-casing
tokenizer makes) finds its word's most frequent casing ("paris" finds "Paris", "i" finds "I"), a token with a
capital its own casing first; else ``<unk>``. Chapter 5's :class:`EmbeddingEncoder` gives each token its vector from a table (random,
or word2vec frozen or fine-tuned); Chapter 6's ELMo encoder and Chapter 11's BERT encoder give context-dependent
vectors through the same interface, so :func:`n2t.transfer.learning_curve` compares all of them on the same data.

**The classifier** pools the token vectors (mean and max over the real tokens) and applies a one-hidden-layer
MLP. The pooling has no parameters, so differences between encoders are differences between their vectors.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn
from torch.nn import functional as F

from n2t.checks import not_a_string, positive_numbers
from n2t.data import Example, TextTask
from n2t.metrics import accuracy, macro_f1
from n2t.text import PAD, Vocab, lengths_to_mask, wikitext_tokenize
from n2t.train import device

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
        raise TypeError(f"encoder {type(encoder).__name__} must have .vocab, an n2t.text.Vocab (the ids it expects)")
    dim = getattr(encoder, "dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise TypeError(f"encoder {type(encoder).__name__} must have .dim, a positive int; got {dim!r}")


def is_frozen(encoder: nn.Module) -> bool:
    """Whether ``encoder`` has no trainable parameter (then its vectors can be computed once and reused)."""
    return not any(p.requires_grad for p in encoder.parameters())


# ------------------------------------------------------------------------------------------ lookup


class TokenLookup:
    """Token → id in ``vocab``: a lower-case token takes its word's most frequent casing; else ``<unk>``.

    A lower-case token says nothing about casing (the book's tokenizer lower-cases everything), so "i" finds the
    pronoun "I", not WikiText-2's rare roman numeral "i"; a token with a capital finds its own casing first.
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
        folded = self.folded.get(token.lower())
        if token == token.lower() and folded is not None:  # no casing to keep: the most frequent one
            return folded
        i = self.vocab.stoi.get(token)
        if i is None:
            i = self.vocab.unk_id if folded is None else folded
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
    """The encoder's ``tokenize`` if it has one, else :func:`n2t.text.wikitext_tokenize`."""
    return getattr(encoder, "tokenize", wikitext_tokenize)


def encode_texts(
    texts: Sequence[str], vocab: Vocab, tokenize: Callable[[str], list[str]] = wikitext_tokenize,
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


def coverage(texts: Iterable[str], vocab: Vocab, tokenize: Callable[[str], list[str]] = wikitext_tokenize) -> Coverage:
    """The :class:`Coverage` of ``vocab`` on ``texts`` (a token is covered if it is not ``<unk>``)."""
    not_a_string("texts", texts, "texts")
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
            raise TypeError(f"vocab must be an n2t.text.Vocab; got {type(vocab).__name__}")
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
        # [embed]
        vectors = self.embedding(ids)  # (batch, time, dim): row ids[b, t] of the table
        return vectors * mask.unsqueeze(-1)  # zero at padding
        # [/embed]


# ---------------------------------------------------------------------------------------- classifier


def pool(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and max over the real tokens: ``(batch, time, dim)`` → ``(batch, 2 · dim)``."""
    if not bool(mask.any(dim=1).all()):
        raise ValueError("every row of mask needs at least one real token (True) to pool")
    # [pool]
    real = mask.unsqueeze(-1)  # (batch, time, 1)
    mean = (vectors * real).sum(dim=1) / real.sum(dim=1)
    largest = vectors.masked_fill(~real, float("-inf")).amax(dim=1)
    return torch.cat([mean, largest], dim=-1)  # (batch, 2 · dim)
    # [/pool]


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
        # [classifier]
        self.encoder = encoder
        width = 2 * encoder.dim  # mean and max of the token vectors
        self.head = nn.Sequential(
            nn.BatchNorm1d(width),  # standardise each pooled feature
            nn.Dropout(dropout),
            nn.Linear(width, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        # [/classifier]

    def features(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooled token vectors ``(batch, 2 · dim)``."""
        return pool(self.encoder(ids, mask), mask)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Ids and mask ``(batch, time)`` → class scores ``(batch, classes)``."""
        return self.head(self.features(ids, mask))


@dataclass
class Encoded:
    """Examples ready for a classifier: padded ids and mask ``(examples, time)``, label ids ``(examples,)``.

    ``features`` ``(examples, 2 · dim)``, if set, are the pooled vectors of a frozen encoder, computed once
    (:meth:`with_features`): training and prediction then run only the head, with the same result.
    """

    ids: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    features: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.labels.numel()

    def select(self, index: torch.Tensor) -> Encoded:
        """The examples at ``index`` (with their features, if any)."""
        features = None if self.features is None else self.features[index]
        return Encoded(self.ids[index], self.mask[index], self.labels[index], features)

    def with_features(self, features: torch.Tensor) -> Encoded:
        """These examples with the pooled vectors ``features`` ``(examples, 2 · dim)`` of a frozen encoder."""
        if features.dim() != 2 or features.shape[0] != len(self):
            raise ValueError(f"features must be ({len(self)}, 2 · dim); got {tuple(features.shape)}")
        return Encoded(self.ids, self.mask, self.labels, features)

    def rows(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids and mask of the examples at ``index``, cut to the longest of them."""
        mask = self.mask[index]
        width = int(mask.sum(dim=1).max())
        return self.ids[index, :width], mask[:, :width]


def pad_id_of(vocab: Vocab) -> int:
    """The id that pads texts for ``vocab``'s encoder: ``<pad>``'s, or ``<unk>``'s in a vocabulary without one
    (WikiText-2's; the mask keeps padding out of every result either way)."""
    return vocab.stoi.get(PAD, vocab.unk_id)


def encode_examples(task: TextTask, examples: Sequence[Example], encoder: nn.Module, max_len: int | None) -> Encoded:
    """Tokenise and look up ``examples`` for ``encoder``, with their label ids."""
    check_encoder(encoder)
    encoded = encode_texts([e.text for e in examples], encoder.vocab, tokenizer_of(encoder), max_len)
    ids, mask = pad_ids(encoded, pad_id_of(encoder.vocab))
    return Encoded(ids, mask, task.label_ids(examples))


def train_classifier(
    model: Classifier, data: Encoded, steps: int, batch_size: int = 32, lr: float = 3e-3,
    encoder_lr: float = 1e-3, seed: int = 0, features: torch.Tensor | None = None,
) -> list[float]:
    """Train ``model`` for ``steps`` Adam steps on shuffled mini-batches of ``data``; returns the losses.

    Each pass over the data is a fresh permutation cut into whole batches; when fewer than ``batch_size``
    examples are left, a new permutation starts and those few sit out that pass.

    The head learns at ``lr``, the encoder (if any of it is trainable) at ``encoder_lr``; a sparse embedding
    table learns with SparseAdam (only the rows of the batch's words move at each step). With ``features``
    (``(examples, 2 · dim)``, the pooled vectors of a frozen encoder; default ``data.features``) only the head
    runs: the same result, faster.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1; got {steps} and {batch_size}")
    positive_numbers(lr=lr, encoder_lr=encoder_lr)  # Adam checks only its default lr, not a group's
    features = data.features if features is None else features
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
def pooled_features(encoder: nn.Module, data: Encoded, batch_size: int = 512) -> torch.Tensor:
    """The pooled vectors ``(examples, 2 · dim)`` of every example under ``encoder``, in eval mode."""
    was_training = encoder.training
    encoder.eval()
    dev = device()
    encoder.to(dev)
    chunks = []
    for start in range(0, len(data), batch_size):
        ids, mask = data.rows(torch.arange(start, min(start + batch_size, len(data))))
        ids, mask = ids.to(dev), mask.to(dev)
        chunks.append(pool(encoder(ids, mask), mask).cpu())
    encoder.train(was_training)
    return torch.cat(chunks)


@torch.no_grad()
def predict(model: Classifier, data: Encoded, features: torch.Tensor | None = None) -> torch.Tensor:
    """The predicted class ids ``(examples,)`` (from ``features`` or ``data.features`` if given)."""
    model.eval()
    features = data.features if features is None else features
    features = pooled_features(model.encoder, data) if features is None else features
    return model.head(features.to(device())).argmax(dim=-1).cpu()


def scores(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Macro-F1 and accuracy of ``predictions`` against ``labels``."""
    return {"macro_f1": macro_f1(predictions, labels, num_classes), "accuracy": accuracy(predictions, labels)}


