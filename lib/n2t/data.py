"""Text as data: the shipped corpora (checksum-verified), ``Vocab``, tokenizers and batching.

Every corpus lives under ``data/`` in the repository, listed with its sha256 in ``data/SHA256SUMS``. A loader
verifies the file on first use and raises :class:`DataFileError`, naming the file, when it is missing or
corrupt. Masks follow the one convention of the whole library: ``True`` marks a real token (one that may be
attended to), ``False`` marks padding.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import torch

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<bos>", "<eos>"
SPECIALS = (UNK, PAD, BOS, EOS)


# --------------------------------------------------------------------------------------------- files


class DataFileError(OSError):
    """A shipped data file is missing or does not match its recorded checksum."""


def data_dir() -> Path:
    """The folder of shipped corpora: ``N2T_DATA`` if set, else ``data/`` at the repository root."""
    env = os.environ.get("N2T_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_checksums(root: Path) -> dict[str, str]:
    sums = root / "SHA256SUMS"
    if not sums.is_file():
        raise DataFileError(f"checksum list {sums} is missing; the data folder {root} is incomplete")
    recorded = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            recorded[name.strip()] = digest
    return recorded


_verified: dict[tuple[str, int, float], bool] = {}


def data_file(name: str) -> Path:
    """The path of shipped file ``name`` (e.g. ``"wikitext-2/test.txt.gz"``), verified against SHA256SUMS."""
    root = data_dir()
    recorded = _recorded_checksums(root)
    if name not in recorded:
        raise DataFileError(f"{name!r} is not a shipped data file; data/SHA256SUMS lists {sorted(recorded)}")
    path = root / name
    if not path.is_file():
        raise DataFileError(f"data file {name} is missing (looked for {path}); restore it from the repository")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime)
    if key not in _verified:
        actual = _sha256(path)
        if actual != recorded[name]:
            raise DataFileError(
                f"data file {name} is corrupt: its sha256 is {actual}, data/SHA256SUMS records "
                f"{recorded[name]}; restore it from the repository"
            )
        _verified[key] = True
    return path


def read_text(name: str) -> str:
    """The text of shipped file ``name``, verified and decompressed (UTF-8)."""
    path = data_file(name)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def _lines(text: str) -> list[str]:
    # Split on "\n" only: str.splitlines would also split on rare separators inside WikiText lines.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ------------------------------------------------------------------------------------------- corpora

WIKITEXT2_SPLITS = ("train", "valid", "test")


@cache
def _wikitext2_lines(split: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(line.split()) for line in _lines(read_text(f"wikitext-2/{split}.txt.gz")))


def wikitext2_lines(split: str, max_lines: int | None = None) -> list[list[str]]:
    """WikiText-2 ``split`` as lines of word tokens, blank lines included, without ``<eos>``."""
    if split not in WIKITEXT2_SPLITS:
        raise ValueError(f"split must be one of {WIKITEXT2_SPLITS}; got {split!r}")
    if max_lines is not None and max_lines < 1:
        raise ValueError(f"max_lines must be a positive number of lines or None; got {max_lines}")
    return [list(line) for line in _wikitext2_lines(split)[:max_lines]]


def wikitext2_tokens(split: str, max_lines: int | None = None) -> list[str]:
    """WikiText-2 ``split`` as one token stream: each line split on whitespace, then ``<eos>`` appended.

    With all lines this gives the standard counts: train 2,088,628, valid 217,646, test 245,569 tokens.
    """
    stream: list[str] = []
    for line in wikitext2_lines(split, max_lines):
        stream.extend(line)
        stream.append(EOS)
    return stream


def cmn_eng_pairs() -> list[tuple[str, str]]:
    """The Tatoeba Chinese–English pairs as ``(english, chinese)`` strings (attribution column dropped)."""
    pairs = []
    for line in _lines(read_text("cmn-eng/cmn.txt.gz")):
        if not line.strip():
            continue
        english, chinese, _attribution = line.split("\t")
        pairs.append((english.replace("\u200b", "").strip(), chinese.replace("\u200b", "").strip()))
    return pairs


CMN_ENG_SPLITS = ("train", "valid", "test")


@cache
def _cmn_eng_split(seed: int, held_out: int) -> dict[str, tuple[tuple[str, str], ...]]:
    pairs = cmn_eng_pairs()
    # Pairs that share an English or a Chinese sentence form one group (union-find), and a group never straddles
    # two splits: otherwise a test sentence could be learnt from its twin in the training set.
    parent = list(range(len(pairs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[tuple[int, str], int] = {}
    for i, (english, chinese) in enumerate(pairs):
        for side, sentence in ((0, english), (1, chinese)):
            j = first_seen.setdefault((side, sentence), i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        groups.setdefault(root(i), []).append(i)
    members = list(groups.values())
    order = torch.randperm(len(members), generator=torch.Generator().manual_seed(seed)).tolist()
    chosen: dict[str, list[int]] = {"test": [], "valid": [], "train": []}
    for g in order:
        # Fill test, then valid, with whole groups up to exactly held_out pairs each; the rest is training data.
        split = next((s for s in ("test", "valid") if len(chosen[s]) + len(members[g]) <= held_out), "train")
        chosen[split].extend(members[g])
    if len(chosen["test"]) < held_out or len(chosen["valid"]) < held_out or not chosen["train"]:
        raise ValueError(f"held_out ({held_out}) leaves too few pairs: the corpus has {len(pairs)}")
    return {
        split: tuple((pairs[i][1], pairs[i][0]) for i in sorted(indices)) for split, indices in chosen.items()
    }


def cmn_eng_split(split: str, seed: int = 0, held_out: int = 1000) -> list[tuple[str, str]]:
    """The fixed translation split of the Tatoeba pairs as ``(chinese, english)`` — source first, then target.

    ``held_out`` pairs each go to ``"valid"`` and ``"test"`` and the rest to ``"train"``, chosen by ``seed``. Pairs
    that share a sentence on either side stay in one split, so no test sentence is seen in training.
    """
    if split not in CMN_ENG_SPLITS:
        raise ValueError(f"split must be one of {CMN_ENG_SPLITS}; got {split!r}")
    if isinstance(held_out, bool) or not isinstance(held_out, int) or held_out < 1:
        raise ValueError(f"held_out must be a positive number of pairs; got {held_out!r}")
    return list(_cmn_eng_split(seed, held_out)[split])


def analogy_questions() -> dict[str, list[tuple[str, str, str, str]]]:
    """Mikolov's analogy questions ``a : b :: c : d``, grouped by section (e.g. ``capital-common-countries``)."""
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    for line in _lines(read_text("questions-words/questions-words.txt")):
        if line.startswith(":"):
            current = line[1:].strip()
            sections[current] = []
        elif line.strip():
            a, b, c, d = line.split()
            sections[current].append((a, b, c, d))
    return sections


def wordsim353() -> list[tuple[str, str, float]]:
    """WordSim-353 pairs with their mean human similarity (0–10)."""
    rows = []
    for line in _lines(read_text("wordsim353/wordsim353.tsv")):
        if line.startswith("#") or not line.strip():
            continue
        a, b, score = line.split("\t")
        rows.append((a, b, float(score)))
    return rows


def men() -> list[tuple[str, str, float]]:
    """MEN similarity pairs with their score (0–50)."""
    rows = []
    for line in _lines(read_text("men/MEN_dataset_natural_form_full"))[1:]:
        a, b, score = line.split()
        rows.append((a, b, float(score)))
    return rows


def sms_spam() -> list[tuple[str, str]]:
    """The SMS Spam Collection as ``(label, text)`` with label ``"ham"`` or ``"spam"``."""
    return [tuple(line.split("\t", 1)) for line in _lines(read_text("sms-spam/SMSSpamCollection"))]


def subjectivity() -> list[tuple[str, str]]:
    """The subjectivity sentences as ``(label, text)`` with label ``"subjective"`` or ``"objective"``."""
    rows = [("subjective", s) for s in _lines(read_text("subj/quote.tok.gt9.5000"))]
    rows += [("objective", s) for s in _lines(read_text("subj/plot.tok.gt9.5000"))]
    return rows


def timemachine() -> str:
    """H. G. Wells, *The Time Machine*, as one string."""
    return read_text("timemachine/timemachine.txt")


def tinyshakespeare() -> str:
    """Tiny Shakespeare as one string."""
    return read_text("tinyshakespeare/input.txt.gz")


# ---------------------------------------------------------------------------------- downstream tasks


class Example(NamedTuple):
    """One labelled text of a classification task."""

    text: str
    label: str


@dataclass(frozen=True)
class TextTask:
    """A text-classification task: its ``labels`` and fixed ``train``, ``valid`` and ``test`` examples.

    Every split holds every label, and every example's label is one of ``labels``; a clear error otherwise.
    """

    name: str
    labels: tuple[str, ...]
    train: tuple[Example, ...]
    valid: tuple[Example, ...]
    test: tuple[Example, ...]

    def __post_init__(self) -> None:
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be at least two distinct label strings; got {self.labels!r}")
        for split in TASK_SPLITS:
            examples = getattr(self, split)
            if not examples:
                raise ValueError(f"task {self.name!r}: the {split} split is empty")
            for i, example in enumerate(examples):
                if not isinstance(example, Example):
                    raise TypeError(f"task {self.name!r}: {split}[{i}] must be an Example; got {example!r}")
                if example.label not in self.labels:
                    raise ValueError(
                        f"task {self.name!r}: {split}[{i}] has label {example.label!r}, "
                        f"which is not in the label set {self.labels}"
                    )
            missing = set(self.labels) - {example.label for example in examples}
            if missing:
                raise ValueError(
                    f"task {self.name!r}: class(es) {sorted(missing)} are missing from the {split} split; "
                    f"every split needs an example of every label"
                )

    def split(self, name: str) -> tuple[Example, ...]:
        """The examples of split ``name`` (``"train"``, ``"valid"`` or ``"test"``)."""
        if name not in TASK_SPLITS:
            raise ValueError(f"split must be one of {TASK_SPLITS}; got {name!r}")
        return getattr(self, name)

    def label_ids(self, examples: Sequence[Example]) -> torch.Tensor:
        """The label of each example as its index in ``labels`` ``(examples,)``."""
        index = {label: i for i, label in enumerate(self.labels)}
        unknown = sorted({e.label for e in examples} - set(index))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the label set {self.labels} of task {self.name!r}")
        return torch.tensor([index[e.label] for e in examples], dtype=torch.long)


TASK_SPLITS = ("train", "valid", "test")
TEXT_TASKS = ("sms-spam", "subj")
_TASK_LABELS = {"sms-spam": ("ham", "spam"), "subj": ("objective", "subjective")}


def stratified_split(
    examples: Sequence[Example], labels: Sequence[str], shares: Sequence[float], seed: int
) -> list[list[Example]]:
    """Cut ``examples`` into parts of the given ``shares`` of each label (the last part takes the rest).

    Within each label the examples are shuffled by ``seed``; each part keeps the corpus order.
    """
    if not shares or any(s <= 0 for s in shares) or sum(shares) >= 1:
        raise ValueError(f"shares must be positive and sum to less than 1 (the rest is the last part); got {shares}")
    parts: list[list[int]] = [[] for _ in range(len(shares) + 1)]
    generator = torch.Generator().manual_seed(seed)
    for label in labels:
        members = [i for i, e in enumerate(examples) if e.label == label]
        order = torch.randperm(len(members), generator=generator).tolist()
        start = 0
        for part, share in zip(parts, shares, strict=False):
            stop = start + round(share * len(members))
            part.extend(members[j] for j in order[start:stop])
            start = stop
        parts[-1].extend(members[j] for j in order[start:])
    return [[examples[i] for i in sorted(part)] for part in parts]


@cache
def text_task(name: str, seed: int = 0) -> TextTask:
    """The downstream task ``name`` (``"sms-spam"`` or ``"subj"``) with fixed, seeded, stratified splits.

    Exact duplicate texts are kept once (the SMS collection repeats hundreds of messages, and a copy in the test
    split of a training message would be a free answer); then 20% of each label goes to ``test``, 10% to
    ``valid`` and the rest to ``train``.
    """
    if name not in TEXT_TASKS:
        raise ValueError(f"name must be one of {TEXT_TASKS}; got {name!r}")
    rows = sms_spam() if name == "sms-spam" else subjectivity()
    first_label: dict[str, str] = {}
    for label, text in rows:
        first_label.setdefault(text, label)
    examples = [Example(text, label) for text, label in first_label.items()]
    test, valid, train = stratified_split(examples, _TASK_LABELS[name], (0.2, 0.1), seed)
    return TextTask(name, _TASK_LABELS[name], tuple(train), tuple(valid), tuple(test))


# ---------------------------------------------------------------------------------------- tokenizers

# A word is a run of Unicode letters or digits ("beyoncé", "naïve", "2017"), optionally with one apostrophe
# part ("i'm", "don't"); every other non-space character (punctuation, symbols) is a token of its own.
_ENGLISH_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]|_")


def whitespace_tokenize(text: str) -> list[str]:
    """Split on runs of whitespace (the WikiText convention: the corpus is already tokenized)."""
    return text.split()


def english_tokenize(text: str) -> list[str]:
    """Lower-case English words, keeping contractions whole and punctuation as tokens: "I'm here." → i'm here .

    Letters are Unicode letters, so "Beyoncé" and "naïve" stay one word each (the text is NFC-normalised first,
    so a letter written with a combining accent counts as one letter).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text).lower().replace("’", "'")
    return _ENGLISH_TOKEN.findall(text)


# Penn Treebank conventions: "don't" → do n't, "it's" → it 's, "can't" → ca n't.
_PTB_TOKEN = re.compile(r"[^\W_]+?(?=n't\b)|n't\b|'(?:s|m|d|re|ve|ll)\b|[^\W_]+|[^\w\s]|_")
# WikiText-2's conventions: "don't" → don 't, "it's" → it 's, "can't" → can 't.
_WIKITEXT_TOKEN = re.compile(r"'(?:s|m|d|t|re|ve|ll)\b|[^\W_]+|[^\w\s]|_")


def _lower_nfc(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}")
    return unicodedata.normalize("NFC", text).lower().replace("’", "'")


def ptb_tokenize(text: str) -> list[str]:
    """Lower-case English words split as in the Penn Treebank: "Don't go!" → do n't go !

    Contractions come apart before ``n't`` and before ``'s 'm 'd 're 've 'll`` ("can't" → ca n't), punctuation
    and symbols are tokens of their own, and letters are Unicode letters (NFC-normalised first).
    """
    return _PTB_TOKEN.findall(_lower_nfc(text))


def wikitext_tokenize(text: str, lower: bool = True) -> list[str]:
    """Lower-case English words split the way WikiText-2 splits them: "Don't go!" → don 't go !

    Contractions come apart before the apostrophe (``'t 's 'm 'd 're 've 'll``: "can't" → can 't, "I'm" → i 'm),
    so that they find the tokens the WikiText-2 vectors were trained on; punctuation and symbols are tokens of
    their own, and letters are Unicode letters (NFC-normalised first). The default tokenizer of ``n2t.classify``.
    ``lower=False`` keeps the case, as WikiText-2's own vocabulary does ("Did" → Did).
    """
    if lower:
        return _WIKITEXT_TOKEN.findall(_lower_nfc(text))
    _lower_nfc(text)  # the type check
    return _WIKITEXT_TOKEN.findall(unicodedata.normalize("NFC", text).replace("’", "'"))


def chinese_tokenize(text: str) -> list[str]:
    """Chinese by character: every non-space character is a token (我是一个学生 → 我 是 一 个 学 生)."""
    return [ch for ch in text if not ch.isspace() and ch != "\u200b"]


def char_tokenize(text: str) -> list[str]:
    """Every character, spaces included, is a token."""
    return list(text)


# --------------------------------------------------------------------------------------------- vocab


class Vocab:
    """A bijection between token strings and ids, with ``<unk> <pad> <bos> <eos>`` first.

    Types are ordered by descending frequency (ties alphabetically), so the ids are reproducible. Types seen
    fewer than ``min_freq`` times, or beyond ``max_size`` types in all (specials included), map to ``<unk>``.
    """

    def __init__(
        self, tokens: Iterable[str] | Counter | None = None, min_freq: int = 1, max_size: int | None = None,
        specials: Sequence[str] = SPECIALS,
    ) -> None:
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1; got {min_freq}")
        if UNK not in specials:
            raise ValueError(f"specials must include {UNK!r} (unknown tokens map to it); got {list(specials)}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials must be distinct; got {list(specials)}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"max_size ({max_size}) must leave room for the {len(specials)} special tokens")
        counts = tokens if isinstance(tokens, Counter) else Counter(tokens or ())
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
        if isinstance(tokens, str):
            raise TypeError(
                "encode takes a sequence of tokens, not a string; "
                "tokenize the string first"
            )
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
        tmp = Path(path).with_suffix(Path(path).suffix + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False))
        os.replace(tmp, path)

    @classmethod
    def from_itos(cls, itos: Sequence[str], specials: Sequence[str] = SPECIALS) -> Vocab:
        """A vocabulary with exactly the ids of ``itos`` (which must start with ``specials``, in order)."""
        itos = list(itos)
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
        payload = json.loads(Path(path).read_text())
        vocab = cls(specials=payload["specials"])
        vocab.freqs = Counter(payload["freqs"])
        vocab.itos = list(payload["itos"])
        vocab.stoi = {t: i for i, t in enumerate(vocab.itos)}
        vocab.unk_id = vocab.stoi[UNK]
        return vocab


# ------------------------------------------------------------------------------------------ batching


def lengths_to_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None) -> torch.Tensor:
    """Padding mask ``(batch, max_len)`` from lengths ``(batch,)``: ``True`` = real token, ``False`` = padding."""
    lengths = torch.as_tensor(lengths)
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
    lengths = torch.tensor([len(s) for s in sequences])
    mask = lengths_to_mask(lengths, max_len)
    padded = torch.full(mask.shape, pad_id, dtype=torch.long)
    padded[mask] = torch.tensor([i for s in sequences for i in s], dtype=torch.long)
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
        ids = torch.as_tensor(ids, dtype=torch.long)
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
