"""Counting n-grams fast (Chapter 2): a corpus's vocabulary, its lines as ids, and every n-gram's count.

Conventions (those of WikiText-2): a corpus is a list of lines, each a list of tokens. A WikiText-2 line is a
paragraph, a heading or blank, not a sentence; every line is one independent sequence. Its context starts with
``order - 1`` ``<bos>`` tokens, and every token of the line and one ``<eos>`` after it are predicted (so a blank
line still predicts ``<eos>``). ``<bos>`` may appear in a context but is never predicted, and no context reaches
across a line break. Tokens outside the vocabulary are read as ``<unk>``.

Counting is vectorised. Contexts are numbered through a trie: the node of a context of length ``k`` is the
rank (``np.unique``) of the pair (node of its ``k - 1`` most recent tokens, the token ``k`` steps back), packed
in one int64 key; an n-gram is the int64 key ``context node · |V| + word``. Lookups are ``np.searchsorted``
over the sorted keys (:func:`find_keys`), so counting and scoring never loop over tokens in Python, and any
order works. The models built on these counts are :mod:`n2t.ngram`.
"""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np

from n2t.checks import not_a_string
from n2t.text import BOS, EOS, PAD, UNK, Vocab

# ------------------------------------------------------------------------------------------- helpers


def vocabulary(lines: Sequence[Sequence[str]]) -> Vocab:
    """The predicted types of a corpus: its tokens plus ``<unk>`` and ``<eos>`` (never ``<bos>``), most frequent first."""
    check_lines(lines, "lines")
    if len(lines) == 0:
        raise ValueError("lines is empty: a vocabulary needs at least one line")
    counts = Counter(chain.from_iterable(lines))
    counts.pop(BOS, None)
    counts.pop(PAD, None)
    return Vocab(counts, specials=(UNK, EOS))


def check_lines(lines: object, name: str) -> None:
    if isinstance(lines, str) or not isinstance(lines, Sequence):
        raise TypeError(f"{name} must be a list of lines, each a list of tokens; got {type(lines).__name__}")
    for i, line in enumerate(lines):
        if isinstance(line, str) or not isinstance(line, Sequence):
            raise TypeError(f"{name}[{i}] must be a list of tokens (split the text first); got {type(line).__name__}")


def predicted_types(vocab: Vocab | Iterable[str]) -> list[str]:
    """The predicted types of a given vocabulary, in its order, without ``<bos>``/``<pad>``, with ``<unk>``/``<eos>``."""
    not_a_string("vocab", vocab, "types (or a Vocab)")
    itos = list(vocab.itos) if isinstance(vocab, Vocab) else list(vocab)
    if any(not isinstance(t, str) for t in itos):
        raise TypeError("vocab must be a Vocab or an iterable of token strings")
    types = [t for t in itos if t not in (BOS, PAD)]
    if len(set(types)) != len(types):
        raise ValueError("vocab must not contain a token twice")
    for special in (EOS, UNK):
        if special not in types:
            types.insert(0, special)
    return types


def check_order(order: object) -> int:
    """``order`` as a Python int, or a ValueError naming it."""
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"order must be an integer >= 1; got {order!r}")
    return int(order)


def find_keys(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``keys`` in ``sorted_keys`` and whether each was found (``np.searchsorted``)."""
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(keys), dtype=np.int64), np.zeros(np.shape(keys), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return idx, sorted_keys[idx] == keys


@dataclass
class EncodedLines:
    """Lines as one padded id array ``seq`` and the positions ``pos`` of the predicted tokens in it."""

    seq: np.ndarray
    pos: np.ndarray

    def token_at(self, k: int) -> np.ndarray:
        """The context token ``k`` steps before every predicted position (``k = 0``: the predicted token)."""
        return self.seq[self.pos - k]


def encode_lines(lines: Sequence[Sequence[str]], stoi: dict[str, int], pad: int, name: str) -> EncodedLines:
    """Encode lines: each becomes ``pad`` × ``<bos>``, its token ids, ``<eos>``; unknown tokens → ``<unk>``."""
    check_lines(lines, name)
    if len(lines) == 0:
        raise ValueError(f"{name} is empty; need at least one line")
    unk, eos, bos = stoi[UNK], stoi[EOS], len(stoi)
    lens = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    n_words = int(lens.sum())
    words = np.fromiter(map(stoi.get, chain.from_iterable(lines), repeat(unk)), dtype=np.int64, count=n_words)
    span = lens + pad + 1
    starts = np.concatenate([[0], np.cumsum(span)[:-1]])
    first_word = np.concatenate([[0], np.cumsum(lens)[:-1]])
    seq = np.full(int(span.sum()), bos, dtype=np.int64)
    seq[np.repeat(starts + pad - first_word, lens) + np.arange(n_words)] = words
    seq[starts + pad + lens] = eos
    return EncodedLines(seq, np.flatnonzero(seq != bos))


# -------------------------------------------------------------------------------------------- counts


def count_ngrams(
    enc: EncodedLines, order: int, V: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Sorted context keys per depth; n-gram keys and counts per order."""
    R = V + 1  # the context tokens: the V types and <bos>
    words = enc.token_at(0)  # every predicted token, in corpus order
    nodes = np.zeros(len(words), dtype=np.int64)  # each one's context: ()
    ctx_keys = [np.zeros(1, dtype=np.int64)]  # depth 0: the empty context
    gram_keys: list[np.ndarray] = []
    gram_counts: list[np.ndarray] = []
    for m in range(1, order + 1):
        if m > 1:  # extend each context by the token m - 1 steps back
            keys = nodes * R + enc.token_at(m - 1)
            keys, nodes = np.unique(keys, return_inverse=True)
            nodes = nodes.reshape(-1)  # a key's rank: its context node
            ctx_keys.append(keys)
        keys, counts = np.unique(nodes * V + words, return_counts=True)
        gram_keys.append(keys)  # n-gram key: context node · V + word
        gram_counts.append(counts.astype(np.int64))
    return ctx_keys, gram_keys, gram_counts


class NGramCounts:
    """The counts of every n-gram of orders ``1 … order`` in a corpus, kept as sorted int64 keys (see the module).

    The counts of one corpus serve every model of order up to ``order`` and every smoothing method.
    """

    def __init__(self, lines: Sequence[Sequence[str]], order: int, vocab: Vocab | Iterable[str] | None = None):
        order = check_order(order)
        check_lines(lines, "lines")
        if len(lines) == 0:
            raise ValueError("lines is empty: cannot count n-grams in an empty corpus")
        longest = max(map(len, lines))
        if order > max(longest + 2, 6):  # one pass per order: an absurd order would run for hours
            raise ValueError(
                f"order {order} is more than this corpus can use: its longest line has {longest} tokens, so every "
                f"context longer than {longest + 1} tokens is line-start padding and the model equals order "
                f"{longest + 2}'s; use order <= {longest + 2}"
            )
        self.order = order
        self.itos: list[str] = predicted_types(vocabulary(lines) if vocab is None else vocab)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.bos_id = len(self.itos)
        enc = encode_lines(lines, self.stoi, order - 1, "lines")
        self.tokens = len(enc.pos)
        self.lines = len(lines)
        self.ctx_keys, self.gram_keys, self.gram_counts = count_ngrams(enc, order, len(self.itos))

    @property
    def vocab_size(self) -> int:
        """|V|: the number of predicted types (``<bos>`` excluded)."""
        return len(self.itos)

    def types(self, n: int) -> int:
        """How many distinct n-grams of order ``n`` the corpus holds."""
        self._check_n(n)
        return len(self.gram_keys[n - 1])

    def _check_n(self, n: int) -> None:
        if not 1 <= n <= self.order:
            raise ValueError(f"n must be between 1 and the counted order {self.order}; got {n}")

    def _ids(self, tokens: Sequence[str], allow_bos: bool = True) -> list[int]:
        ids = []
        for t in tokens:
            if t == BOS and allow_bos:
                ids.append(self.bos_id)
            else:
                ids.append(self.stoi.get(t, self.stoi[UNK]))
        return ids

    def _nodes(self, token_at: Callable[[int], np.ndarray], depth: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Trie nodes (index, found) of the contexts of depth ``0 … depth`` read through ``token_at(k)``."""
        R = self.vocab_size + 1
        node = np.zeros(np.shape(token_at(1)) if depth else 1, dtype=np.int64)
        found = np.ones(node.shape, dtype=bool)
        out = [(node, found)]
        for k in range(1, depth + 1):
            idx, hit = find_keys(self.ctx_keys[k], node * R + token_at(k))
            found = found & hit
            node = np.where(found, idx, 0)
            out.append((node, found))
        return out

    def leading_bos(self, depth: int) -> np.ndarray:
        """For every context node of ``depth`` (in ``ctx_keys`` order): how many ``<bos>`` tokens it begins with."""
        if not 0 <= depth < self.order:
            raise ValueError(f"depth must be between 0 and {self.order - 1} (the counted order - 1); got {depth}")
        R = self.vocab_size + 1
        keys = self.ctx_keys[depth]
        run = np.zeros(len(keys), dtype=np.int64)
        alive = np.ones(len(keys), dtype=bool)
        for d in range(depth, 0, -1):  # from the oldest token to the most recent
            alive &= keys % R == self.bos_id
            run += alive
            keys = self.ctx_keys[d - 1][keys // R]  # drop the oldest token
        return run

    def count(self, ngram: Sequence[str]) -> int:
        """C(w_1 … w_n): how often the last token of ``ngram`` was predicted after the tokens before it."""
        if isinstance(ngram, str):
            raise TypeError("ngram must be a sequence of tokens such as ('cat', 'sits'), not a string")
        self._check_n(len(ngram))
        *context, word = self._ids(ngram)
        if word == self.bos_id:
            return 0
        n = len(context)
        ctx = np.array(context[::-1], dtype=np.int64)  # ctx[k-1]: the token k steps back
        (node, found) = self._nodes(lambda k: ctx[k - 1 : k], n)[-1]
        idx, hit = find_keys(self.gram_keys[n], node * self.vocab_size + word)
        return int(self.gram_counts[n][idx[0]]) if found[0] and hit[0] else 0

    def unigram_counts(self) -> np.ndarray:
        """C(w) for every type w, ``(|V|,)``: how often it was predicted (``<eos>`` once per line)."""
        return np.bincount(self.gram_keys[0] % self.vocab_size, self.gram_counts[0], self.vocab_size).astype(np.int64)

    def continuation_counts(self, m: int) -> np.ndarray:
        """N1+(• h w) for every n-gram of order ``m`` < order, in ``gram_keys[m - 1]`` order: how many distinct
        tokens (``<bos>`` included) precede it."""
        V, R = self.vocab_size, self.vocab_size + 1
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or not 1 <= m < self.order:
            raise ValueError(f"m must be between 1 and {self.order - 1} (the counted order - 1); got {m!r}")
        higher = self.gram_keys[m]  # the (m+1)-grams: node of depth m, word
        parent = self.ctx_keys[m][higher // V] // R  # drop the oldest context token: node of depth m-1
        suffix = np.searchsorted(self.gram_keys[m - 1], parent * V + higher % V)
        return np.bincount(suffix, minlength=len(self.gram_keys[m - 1]))

    def preceding_types(self) -> np.ndarray:
        """N1+(• w) for every type w, ``(|V|,)``: :meth:`continuation_counts` of the unigrams, indexed by type."""
        if self.order < 2:
            raise ValueError("preceding_types needs bigram counts; count with order >= 2")
        words = self.gram_keys[0] % self.vocab_size  # unigram key: the empty context's node 0 · |V| + word
        return np.bincount(words, self.continuation_counts(1), self.vocab_size).astype(np.int64)

    def context_seen(self, lines: Sequence[Sequence[str]]) -> np.ndarray:
        """For every predicted token of ``lines`` (rows) and n = 1 … order (columns), whether its context of
        n − 1 tokens occurs in this corpus: after an unseen context an n-gram model has no counts of that order."""
        enc = encode_lines(lines, self.stoi, self.order - 1, "lines")
        return np.stack([found for _, found in self._nodes(enc.token_at, self.order - 1)], axis=1)

    def unseen_rate(self, lines: Sequence[Sequence[str]]) -> np.ndarray:
        """For n = 1 … order, the fraction of predicted tokens of ``lines`` whose n-gram never occurs here."""
        enc = encode_lines(lines, self.stoi, self.order - 1, "lines")
        words = enc.token_at(0)
        rates = []
        for m, (node, found) in enumerate(self._nodes(enc.token_at, self.order - 1), start=1):
            _, hit = find_keys(self.gram_keys[m - 1], node * self.vocab_size + words)
            rates.append(1.0 - float(np.mean(found & hit)))
        return np.array(rates)

    def __repr__(self) -> str:
        return f"NGramCounts(order={self.order}, tokens={self.tokens}, vocab_size={self.vocab_size})"
