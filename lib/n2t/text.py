"""Text as data (Chapter 1): tokenizers, the vocabulary that maps tokens to ids, and batches of ids.

- Tokenizers: whitespace (WikiText-2 is tokenized already), English words (``english_tokenize``), the Penn
  Treebank's and WikiText-2's conventions for contractions, Chinese by character.
- :class:`Vocab`: a bijection between token strings and ids, most frequent first, with ``<unk> <pad> <bos>
  <eos>``.
- Batching: padding masks (``lengths_to_mask``), padded sentence pairs (:class:`PairBatch`) and the streams of
  a language model (:class:`LMStream`).

Masks follow the one convention of the whole library: ``True`` marks a real token (one that may be attended
to), ``False`` marks padding. The corpora these functions read are :mod:`n2t.data`.
"""

from __future__ import annotations

import json
import numbers
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from n2t.checks import integer_ids, integers, not_a_string, positive_ints

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<bos>", "<eos>"
SPECIALS = (UNK, PAD, BOS, EOS)



# ---------------------------------------------------------------------------------------- tokenizers

# A word is a run of Unicode letters or digits ("beyoncé", "naïve", "2017"), optionally with one apostrophe
# part ("i'm", "don't"); every other non-space character (punctuation, symbols) is a token of its own.
_ENGLISH_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]|_")


def whitespace_tokenize(text: str) -> list[str]:
    """Split on runs of whitespace (the WikiText convention: the corpus is already tokenized)."""
    _check_text(text)
    return text.split()


def english_tokenize(text: str) -> list[str]:
    """Lower-case English words, keeping contractions whole and punctuation as tokens: "I'm here." → i'm here .

    Letters are Unicode letters, so "Beyoncé" and "naïve" stay one word each (the text is NFC-normalised first,
    so a letter written with a combining accent counts as one letter).
    """
    return _ENGLISH_TOKEN.findall(_normalise(text))


# Penn Treebank conventions: "don't" → do n't, "it's" → it 's, "can't" → ca n't.
_PTB_TOKEN = re.compile(r"[^\W_]+?(?=n't\b)|n't\b|'(?:s|m|d|re|ve|ll)\b|[^\W_]+|[^\w\s]|_")
# WikiText-2's conventions: "don't" → don 't, "it's" → it 's, "can't" → can 't.
_WIKITEXT_TOKEN = re.compile(r"'(?:s|m|d|t|re|ve|ll)\b|[^\W_]+|[^\w\s]|_")


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__} (tokenize one text at a time)")


def _normalise(text: str, lower: bool = True) -> str:
    """NFC-normalised, with a typographic apostrophe made plain, and lower-cased unless ``lower=False``."""
    _check_text(text)
    text = unicodedata.normalize("NFC", text).replace("’", "'")
    return text.lower() if lower else text


def ptb_tokenize(text: str) -> list[str]:
    """Lower-case English words split as in the Penn Treebank: "Don't go!" → do n't go !

    Contractions come apart before ``n't`` and before ``'s 'm 'd 're 've 'll`` ("can't" → ca n't), punctuation
    and symbols are tokens of their own, and letters are Unicode letters (NFC-normalised first).
    """
    return _PTB_TOKEN.findall(_normalise(text))


def wikitext_tokenize(text: str, lower: bool = True) -> list[str]:
    """Lower-case English words split the way WikiText-2 splits them: "Don't go!" → don 't go !

    Contractions come apart before the apostrophe (``'t 's 'm 'd 're 've 'll``: "can't" → can 't, "I'm" → i 'm),
    so that they find the tokens the WikiText-2 vectors were trained on; punctuation and symbols are tokens of
    their own, and letters are Unicode letters (NFC-normalised first). The default tokenizer of ``n2t.classify``.
    ``lower=False`` keeps the case, as WikiText-2's own vocabulary does ("Did" → Did).
    """
    return _WIKITEXT_TOKEN.findall(_normalise(text, lower))


def chinese_tokenize(text: str) -> list[str]:
    """Chinese by character: every non-space character is a token (我是一个学生 → 我 是 一 个 学 生)."""
    _check_text(text)
    return [ch for ch in text if not ch.isspace() and ch != "\u200b"]


def char_tokenize(text: str) -> list[str]:
    """Every character, spaces included, is a token."""
    _check_text(text)
    return list(text)


# --------------------------------------------------------------------------------------------- vocab


def _token_strings(tokens: Iterable[str]) -> list[str]:
    """``tokens`` as a list, once checked to be token strings and not one string (which would be read letter by
    letter) or ids (which :meth:`Vocab.decode` reads)."""
    if isinstance(tokens, str):
        raise TypeError("encode takes a sequence of tokens, not a string; tokenize the string first")
    tokens = list(tokens)
    wrong = next((t for t in tokens if not isinstance(t, str)), None)
    if wrong is not None:
        raise TypeError(f"tokens must be strings; got {type(wrong).__name__} {wrong!r} (ids are decoded, not encoded)")
    return tokens


class Vocab:
    """A bijection between token strings and ids, with ``<unk> <pad> <bos> <eos>`` first.

    Types are ordered by descending frequency (ties alphabetically), so the ids are reproducible. Types seen
    fewer than ``min_freq`` times, or beyond ``max_size`` types in all (specials included), map to ``<unk>``.
    """

    def __init__(
        self, tokens: Iterable[str] | Counter | None = None, min_freq: int = 1, max_size: int | None = None,
        specials: Sequence[str] = SPECIALS,
    ) -> None:
        not_a_string("tokens", tokens)
        not_a_string("specials", specials)
        positive_ints(min_freq=min_freq)
        if UNK not in specials:
            raise ValueError(f"specials must include {UNK!r} (unknown tokens map to it); got {list(specials)}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials must be distinct; got {list(specials)}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"max_size ({max_size}) must leave room for the {len(specials)} special tokens")
        counts = tokens if isinstance(tokens, Counter) else Counter(tokens or ())
        not_strings = [t for t in counts if not isinstance(t, str)]
        if not_strings:
            raise TypeError(f"tokens must be strings; got {type(not_strings[0]).__name__} {not_strings[0]!r}")
        self.freqs = counts
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in specials),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(specials)]
        self.specials = tuple(specials)
        self.itos: list[str] = [*specials, *ranked]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.unk_id = self.stoi[UNK]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[: min(8, len(self))]})"

    def _special_id(self, token: str) -> int:
        if token not in self.stoi:
            raise KeyError(f"this vocabulary has no {token} token; its specials are {list(self.specials)}")
        return self.stoi[token]

    @property
    def pad_id(self) -> int:
        """The id of ``<pad>``."""
        return self._special_id(PAD)

    @property
    def bos_id(self) -> int:
        """The id of ``<bos>``."""
        return self._special_id(BOS)

    @property
    def eos_id(self) -> int:
        """The id of ``<eos>``."""
        return self._special_id(EOS)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token strings → ids; unknown tokens → the id of ``<unk>``."""
        tokens = _token_strings(tokens)  # a list of strings, or a clear error
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int] | torch.Tensor) -> list[str]:
        """Ids → token strings; an id outside ``[0, len(vocab))`` is an ``IndexError`` naming it."""
        if isinstance(ids, torch.Tensor):
            ids = ids.reshape(-1).tolist()
        out = []
        for i in ids:
            if not 0 <= i < len(self.itos):
                raise IndexError(f"token id {i} is out of range for a vocabulary of size {len(self)}")
            out.append(self.itos[i])
        return out

    def save(self, path: str | Path) -> None:
        """Write the vocabulary (types in id order, specials, frequencies) as JSON."""
        payload = {"itos": self.itos, "specials": list(self.specials), "freqs": dict(self.freqs)}
        path = Path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot save the vocabulary to {path}: the folder {path.parent} does not exist")
        # a temporary file of its own, renamed into place: two writers of one path never share a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(payload, ensure_ascii=False))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def from_itos(cls, itos: Sequence[str], specials: Sequence[str] = SPECIALS) -> Vocab:
        """A vocabulary with exactly the ids of ``itos`` (which must start with ``specials``, in order)."""
        not_a_string("itos", itos)
        itos = list(itos)
        if UNK not in specials:
            raise ValueError(f"specials must include {UNK!r} (unknown tokens map to it); got {list(specials)}")
        if tuple(itos[: len(specials)]) != tuple(specials):
            raise ValueError(f"itos must start with the specials {list(specials)}; it starts {itos[: len(specials)]}")
        if len(set(itos)) != len(itos):
            raise ValueError("itos must not repeat a token")
        vocab = cls(specials=specials)
        vocab.freqs = Counter()
        vocab.itos = itos
        vocab.stoi = {t: i for i, t in enumerate(itos)}
        vocab.unk_id = vocab.stoi[UNK]
        return vocab

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`; ids are preserved exactly."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not a vocabulary file written by Vocab.save (invalid JSON: {error})") from None
        missing = {"itos", "specials", "freqs"} - set(payload) if isinstance(payload, dict) else {"itos"}
        if missing:
            raise ValueError(f"{path} is not a vocabulary file written by Vocab.save: it lacks {sorted(missing)}")
        vocab = cls.from_itos(payload["itos"], payload["specials"])
        vocab.freqs = Counter(payload["freqs"])
        return vocab


# ------------------------------------------------------------------------------------------ batching


def lengths_to_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None) -> torch.Tensor:
    """Padding mask ``(batch, max_len)`` from lengths ``(batch,)``: ``True`` = real token, ``False`` = padding."""
    not_a_string("lengths", lengths, "integer lengths")
    lengths = torch.as_tensor(lengths)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must be integers; got {lengths.dtype} values {lengths.tolist()[:8]}")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral)):
        raise TypeError(f"max_len must be an integer or None; got {max_len!r}")
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be one-dimensional (batch,); got shape {tuple(lengths.shape)}")
    if lengths.numel() and int(lengths.min()) < 0:
        raise ValueError(f"lengths must be non-negative; got {lengths.tolist()}")
    longest = int(lengths.max()) if lengths.numel() else 0
    if max_len is None:
        max_len = longest
    elif max_len < longest:
        raise ValueError(f"max_len ({max_len}) is shorter than the longest sequence ({longest})")
    return torch.arange(max_len, device=lengths.device) < lengths[:, None]


def pad_sequences(
    sequences: Sequence[Sequence[int]], pad_id: int, max_len: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id sequences into ``(batch, length)`` and return it with the lengths ``(batch,)``."""
    if len(sequences) == 0:
        raise ValueError("sequences is empty; need at least one sequence to pad")
    not_a_string("sequences", sequences, "id sequences")
    flat = torch.tensor([i for s in sequences for i in s], dtype=None if any(map(len, sequences)) else torch.long)
    integer_ids("sequences", flat)  # a float id would be truncated
    lengths = torch.tensor([len(s) for s in sequences])
    mask = lengths_to_mask(lengths, max_len)
    padded = torch.full(mask.shape, pad_id, dtype=torch.long)
    padded[mask] = flat.long()
    return padded, lengths


class PairBatch(NamedTuple):
    """A batch of padded sentence pairs: ids ``(batch, length)``, lengths ``(batch,)``, masks (True = token)."""

    src: torch.Tensor
    src_lengths: torch.Tensor
    src_mask: torch.Tensor
    tgt: torch.Tensor
    tgt_lengths: torch.Tensor
    tgt_mask: torch.Tensor


def pair_batch(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab, tgt_vocab: Vocab
) -> PairBatch:
    """Encode and pad tokenized ``(source, target)`` pairs; the target gets ``<bos> … <eos>``."""
    if len(pairs) == 0:
        raise ValueError("pairs is empty; need at least one sentence pair")
    empty = next((i for i, (source, _) in enumerate(pairs) if len(source) == 0), None)
    if empty is not None:
        raise ValueError(f"source {empty} is empty; every pair needs a source token to encode")
    src, src_len = pad_sequences([src_vocab.encode(s) for s, _ in pairs], src_vocab.pad_id)
    tgt_ids = [[tgt_vocab.bos_id, *tgt_vocab.encode(t), tgt_vocab.eos_id] for _, t in pairs]
    tgt, tgt_len = pad_sequences(tgt_ids, tgt_vocab.pad_id)
    return PairBatch(src, src_len, lengths_to_mask(src_len), tgt, tgt_len, lengths_to_mask(tgt_len))


def pair_batches(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int,
    shuffle: bool = False, seed: int = 0,
) -> Iterator[PairBatch]:
    """Yield :class:`PairBatch` es of ``batch_size`` pairs (the last may be smaller), optionally shuffled."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    integers(seed=seed)
    order = list(range(len(pairs)))
    if shuffle:
        order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed)).tolist()
    for start in range(0, len(order), batch_size):
        yield pair_batch([pairs[i] for i in order[start : start + batch_size]], src_vocab, tgt_vocab)


class LMStream:
    """Language-model batches from one id stream: inputs and next-token targets, both ``(batch, time)``.

    The stream is cut into ``batch_size`` contiguous rows (the tail that does not fill a row is dropped), and
    the rows are read ``seq_len`` steps at a time, so row ``b`` of one batch continues row ``b`` of the last
    (the hidden state of a recurrent model can be carried over). The last window may be shorter.
    """

    def __init__(self, ids: torch.Tensor | Sequence[int], batch_size: int, seq_len: int) -> None:
        ids = torch.as_tensor(ids)
        integer_ids("ids", ids)  # a float id would be truncated, a negative one fails in an embedding later
        ids = ids.long()
        if ids.dim() != 1:
            raise ValueError(f"ids must be a one-dimensional stream of token ids; got shape {tuple(ids.shape)}")
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"batch_size and seq_len must be at least 1; got {batch_size} and {seq_len}")
        row_len = ids.numel() // batch_size
        if row_len < 2:
            raise ValueError(
                f"a stream of {ids.numel()} tokens is too short for {batch_size} rows of at least 2 tokens"
            )
        self.rows = ids[: row_len * batch_size].view(batch_size, row_len)
        self.batch_size, self.seq_len = batch_size, seq_len

    def windows(self) -> list[tuple[int, int]]:
        """The ``(start, stop)`` columns of each batch's inputs; its targets are one column later."""
        predicted = self.rows.shape[1] - 1  # the last column is only ever a target
        return [(start, min(start + self.seq_len, predicted)) for start in range(0, predicted, self.seq_len)]

    def __len__(self) -> int:
        return len(self.windows())

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start, stop in self.windows():
            yield self.rows[:, start:stop], self.rows[:, start + 1 : stop + 1]

    def steps_for(self, tokens: int) -> int:
        """How many batches, epoch after epoch, it takes to predict at least ``tokens`` tokens (at least 1)."""
        if tokens < 1:
            raise ValueError(f"tokens must be a positive number of training tokens; got {tokens}")
        per_batch = [self.batch_size * (stop - start) for start, stop in self.windows()]
        epochs, rest = divmod(tokens, sum(per_batch))
        steps = epochs * len(per_batch)
        for size in per_batch:
            if rest <= 0:
                break
            steps, rest = steps + 1, rest - size
        return max(steps, 1)
