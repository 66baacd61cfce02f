"""Byte-pair encoding (Sennrich et al. 2016): subword units learned by merging the most frequent pair.

A word is spelled as its characters plus an end-of-word marker ``</w>``; training repeatedly merges the most
frequent adjacent pair of symbols (counted over the words' frequencies) into one new symbol. Encoding a word
applies the learned merges in the order they were learned; decoding joins the symbols and turns each ``</w>``
back into a space. Any word made of characters seen in training can be written, so only an unseen *character*
becomes ``<unk>``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from operator import itemgetter

from n2t.checks import not_a_string

END = "</w>"  # marks the end of a word
UNK = "<unk>"


def _merge(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    """``symbols`` with every occurrence of ``pair`` (left to right) joined into one symbol."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


@dataclass
class BPE:
    """A trained byte-pair encoder: the ``merges`` in the order learned, and the ``symbols`` it can emit."""

    merges: list[tuple[str, str]]
    symbols: list[str]

    def __post_init__(self) -> None:
        self.rank = {pair: i for i, pair in enumerate(self.merges)}
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self._cache: dict[str, list[str]] = {}

    def encode_word(self, word: str) -> list[str]:
        """One word → its subword symbols (the last one ends with ``</w>``); unseen characters → ``<unk>``."""
        if word not in self._cache:
            symbols = [c if c in self.index else UNK for c in word] + [END]
            while len(symbols) > 1:
                pairs = [(self.rank.get(p, len(self.rank)), p) for p in pairwise(symbols)]
                rank, pair = min(pairs)
                if rank == len(self.rank):  # no learned merge applies
                    break
                symbols = _merge(symbols, pair)
            self._cache[word] = symbols
        return self._cache[word]

    def encode(self, words: Sequence[str]) -> list[str]:
        """Words → subword symbols."""
        if isinstance(words, str):
            raise TypeError("encode takes a sequence of words, not a string; split the text first")
        return [s for w in words for s in self.encode_word(w)]

    def decode(self, symbols: Iterable[str]) -> list[str]:
        """Subword symbols → words (the inverse of :meth:`encode` for words of seen characters)."""
        text = "".join(symbols)
        if text and not text.endswith(END):
            raise ValueError(f"the last symbol must end a word (with {END!r}); got {text[-12:]!r}")
        return text[: -len(END)].split(END) if text else []


def train_bpe(words: Iterable[str], num_merges: int) -> BPE:
    """Learn ``num_merges`` merges from the word stream ``words`` (Sennrich et al.'s algorithm).

    Ties between equally frequent pairs go to the pair counted first, so the merges are reproducible.
    """
    not_a_string("words", words, "words")
    if isinstance(num_merges, bool) or not isinstance(num_merges, int) or num_merges < 0:
        raise ValueError(f"num_merges must be a non-negative number of merges; got {num_merges!r}")
    counts = Counter(words)
    if any(not isinstance(word, str) for word in counts):
        raise TypeError(f"words must be strings; got {next(w for w in counts if not isinstance(w, str))!r}")
    if not counts:
        raise ValueError("words is empty; need some text to learn merges from")
    spelled = [[*word, END] for word in counts]  # each word type as a list of symbols
    freq = list(counts.values())
    alphabet = [*sorted({c for word in counts for c in word}), END]
    pairs: Counter = Counter()  # (a, b) → how often it occurs in the text
    where = defaultdict(set)  # (a, b) → the word types it occurs in
    for i, symbols in enumerate(spelled):
        for pair in pairwise(symbols):
            pairs[pair] += freq[i]
            where[pair].add(i)
    # excerpt begins merge loop
    merges = []
    for _ in range(num_merges):
        if not pairs:
            break
        best = max(pairs.items(), key=itemgetter(1))[0]  # the most frequent pair
        merges.append(best)
        for i in where.pop(best):  # re-spell only the words that hold it
            old = spelled[i]
            for pair in pairwise(old):
                pairs[pair] -= freq[i]
                if not pairs[pair]:  # no longer occurs anywhere
                    del pairs[pair]
            spelled[i] = new = _merge(old, best)
            for pair in pairwise(new):
                pairs[pair] += freq[i]
                where[pair].add(i)
    # excerpt ends
    return BPE(merges, alphabet + ["".join(pair) for pair in merges])
