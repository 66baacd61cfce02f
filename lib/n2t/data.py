"""The data the book ships (Chapter 1): its corpora, checksum-verified, and the downstream tasks.

Every corpus lives under ``data/`` in the repository, listed with its sha256 in ``data/SHA256SUMS``. A loader
verifies the file on first use and raises :class:`DataFileError`, naming the file, when it is missing or
corrupt. WikiText-2, the Chinese–English pairs of Tatoeba with their fixed split, the word-vector benchmarks
and the two classification tasks (:func:`text_task`) are read here; turning text into ids is :mod:`n2t.text`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import torch

from n2t.checks import integers, not_a_string
from n2t.text import EOS, wikitext_tokenize

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
    integers(seed=seed)
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
    if not shares or not all(s > 0 for s in shares) or not sum(shares) < 1:  # NaN fails both
        raise ValueError(f"shares must be positive and sum to less than 1 (the rest is the last part); got {shares}")
    not_a_string("labels", labels, "labels")
    unknown = sorted({e.label for e in examples} - set(labels))
    if unknown:
        raise ValueError(f"examples have labels {unknown} that are not in labels {list(labels)}: they would be lost")
    integers(seed=seed)
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


def task_text_key(text: str) -> tuple[str, ...]:
    """A text as the classifier reads it, digits folded: its tokens (:func:`n2t.text.wikitext_tokenize`), every
    digit written as 0. Texts with one key are one example ("Call 0871…" spam that differs only in a number)."""
    return tuple(token.translate(_DIGITS_TO_ZERO) for token in wikitext_tokenize(text))


_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


@cache
def text_task(name: str, seed: int = 0) -> TextTask:
    """The downstream task ``name`` (``"sms-spam"`` or ``"subj"``) with fixed, seeded, stratified splits.

    Duplicate texts are kept once, the first of them, where two texts are duplicates when they tokenise alike
    once digits are folded (:func:`task_text_key`): the SMS collection repeats hundreds of messages, and
    template spam that differs only in a phone number, and a copy in the test split of a training message would
    be a free answer. Then 20% of each label goes to ``test``, 10% to ``valid`` and the rest to ``train``.
    """
    if name not in TEXT_TASKS:
        raise ValueError(f"name must be one of {TEXT_TASKS}; got {name!r}")
    rows = sms_spam() if name == "sms-spam" else subjectivity()
    first: dict[tuple[str, ...], Example] = {}
    for label, text in rows:
        first.setdefault(task_text_key(text), Example(text, label))
    examples = list(first.values())
    test, valid, train = stratified_split(examples, _TASK_LABELS[name], (0.2, 0.1), seed)
    return TextTask(name, _TASK_LABELS[name], tuple(train), tuple(valid), tuple(test))


