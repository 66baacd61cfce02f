"""Word vectors as a table: nearest neighbours, analogies, similarity benchmarks, the vector file format.

Every function takes a pair ``(vectors (|V|, dim), itos)`` — word2vec's vectors (Chapter 4), the NNLM's
embedding (Chapter 3), gensim's — so every model's vectors are measured alike. A word is looked up in its own
casing first, then in its most frequent casing (:class:`Lookup`).

- :func:`nearest`: the words of highest cosine similarity;
- :func:`analogy` and :func:`evaluate_analogies`: "a is to b as c is to ?" by 3CosAdd (Mikolov et al. 2013),
  on the Google analogy questions;
- :func:`evaluate_similarity`: Spearman's ρ (:func:`spearman`) between cosines and human scores (WordSim-353,
  MEN); :func:`evaluate` runs the book's whole yardstick;
- :func:`save_vectors` and :func:`load_vectors`: word2vec's text format.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from n2t import data
from n2t.checks import not_a_string

# ------------------------------------------------------------------------------------------ look-up


def check_vectors(vectors: torch.Tensor, itos: Sequence[str]) -> torch.Tensor:
    """``vectors`` as a float tensor, after checking that it is ``(len(itos), dim)``; a clear error if not."""
    if not isinstance(vectors, torch.Tensor):
        vectors = torch.as_tensor(vectors)
    if vectors.dim() != 2:
        raise ValueError(f"vectors must be a (|V|, dim) matrix; got shape {tuple(vectors.shape)}")
    if vectors.shape[0] != len(itos):
        raise ValueError(
            f"vectors has {vectors.shape[0]} rows but itos names {len(itos)} words; they must match"
        )
    if not vectors.is_floating_point():
        raise ValueError(f"vectors must be floating point; got {vectors.dtype}")
    return vectors.float()


class Lookup:
    """Word → row look-up: the word's own casing first, else its most frequent casing ("Paris" for "paris").

    ``itos`` must be ordered by descending frequency for that rule to hold; both word2vec's and the NNLM's are.
    ``canonical[i]`` is the row of the most frequent casing of row ``i``'s word: rows with the same canonical row
    are case variants of one word.
    """

    def __init__(self, itos: Sequence[str]) -> None:
        not_a_string("itos", itos, "words")
        self.itos = list(itos)
        self.exact = {w: i for i, w in enumerate(self.itos)}
        self.folded: dict[str, int] = {}
        for i, w in enumerate(self.itos):
            self.folded.setdefault(w.upper(), i)
        self.canonical = torch.tensor([self.folded[w.upper()] for w in self.itos], dtype=torch.long)

    def get(self, word: str) -> int | None:
        """The row of ``word`` (its own casing first, then any casing), or ``None``."""
        i = self.exact.get(word)
        return i if i is not None else self.folded.get(word.upper())

    def __getitem__(self, word: str) -> int:
        i = self.get(word)
        if i is None:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self.itos):,} words)")
        return i


def unit_rows(vectors: torch.Tensor) -> torch.Tensor:
    """Each row divided by its length (rows of zeros stay zero)."""
    return vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)


def nearest(vectors: torch.Tensor, itos: Sequence[str], word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded)."""
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    vectors = unit_rows(check_vectors(vectors, itos))
    row = Lookup(itos)[word]
    cosines = vectors @ vectors[row]
    cosines[row] = -math.inf
    best = cosines.topk(min(k, len(itos) - 1))
    return [(itos[i], float(c)) for c, i in zip(best.values, best.indices, strict=True)]


def analogy(
    vectors: torch.Tensor, itos: Sequence[str], a: str, b: str, c: str, k: int = 5
) -> list[tuple[str, float]]:
    """3CosAdd: the ``k`` words ``d`` of highest cos(d, b − a + c) ("a is to b as c is to d"), a, b, c excluded.

    The scores returned are those cosines (unit rows, and the target ``b − a + c`` divided by its length).
    """
    vectors = unit_rows(check_vectors(vectors, itos))
    lookup = Lookup(itos)
    rows = [lookup[w] for w in (a, b, c)]
    target = vectors[rows[1]] - vectors[rows[0]] + vectors[rows[2]]
    scores = vectors @ (target / target.norm().clamp(min=1e-12))
    scores[rows] = -math.inf
    best = scores.topk(min(k, len(itos) - 3))
    return [(itos[i], float(s)) for s, i in zip(best.values, best.indices, strict=True)]


@dataclass(frozen=True)
class AnalogyResult:
    """Analogy accuracy per category: ``correct`` and ``covered`` (all four words known) of ``total``."""

    correct: dict[str, int]
    covered: dict[str, int]
    total: dict[str, int]

    @property
    def accuracy(self) -> float:
        """Correct answers over the questions covered by the vocabulary (gensim's convention)."""
        covered = sum(self.covered.values())
        return sum(self.correct.values()) / covered if covered else 0.0

    @property
    def coverage(self) -> float:
        """The fraction of all questions whose four words are in the vocabulary."""
        return sum(self.covered.values()) / max(sum(self.total.values()), 1)

    def category_accuracy(self, category: str) -> float:
        """Accuracy within one category (over its covered questions; 0 if none is covered)."""
        return self.correct[category] / self.covered[category] if self.covered[category] else 0.0

    @property
    def semantic_accuracy(self) -> float:
        """Accuracy over the covered semantic questions (the categories not named ``gram…``)."""
        return self._group(lambda name: not name.startswith("gram"))

    @property
    def syntactic_accuracy(self) -> float:
        """Accuracy over the covered syntactic questions (the ``gram…`` categories)."""
        return self._group(lambda name: name.startswith("gram"))

    def _group(self, keep) -> float:
        names = [n for n in self.total if keep(n)]
        covered = sum(self.covered[n] for n in names)
        return sum(self.correct[n] for n in names) / covered if covered else 0.0


def evaluate_analogies(
    vectors: torch.Tensor,
    itos: Sequence[str],
    questions: Mapping[str, Sequence[tuple[str, str, str, str]]],
    batch_size: int = 2048,
) -> AnalogyResult:
    """Answer every question ``a : b :: c : ?`` by 3CosAdd over the whole vocabulary, a, b, c excluded.

    A question word excludes its case variants too ("King" for "king"), and an answer that differs from the
    expected word only in casing ("Queen" for "queen") counts as correct, as in gensim's evaluation.
    """
    vectors = unit_rows(check_vectors(vectors, itos))
    lookup = Lookup(itos)
    variants = (lookup.canonical != torch.arange(len(itos))).nonzero().squeeze(1)
    correct, covered, total = {}, {}, {}
    for category, rows in questions.items():
        total[category] = len(rows)
        known = [[lookup.get(w) for w in q] for q in rows]
        known = [q for q in known if None not in q]  # all four words in the vocabulary
        known = torch.tensor(known, dtype=torch.long).reshape(-1, 4)
        covered[category] = known.shape[0]
        hits = 0
        for begin in range(0, known.shape[0], batch_size):
            q = known[begin : begin + batch_size]  # (questions, 4) word ids
            target = vectors[q[:, 1]] - vectors[q[:, 0]] + vectors[q[:, 2]]
            scores = target @ vectors.T  # (questions, |V|)
            word = lookup.canonical[q]  # each word in its most frequent casing
            scores.scatter_(1, torch.cat([q[:, :3], word[:, :3]], 1), -math.inf)
            variant_of = lookup.canonical[variants][None, :, None]  # "KING" → "king"
            banned = (variant_of == word[:, None, :3]).any(2)  # variants of a, b, c
            scores[:, variants] = scores[:, variants].masked_fill(banned, -math.inf)
            answer = lookup.canonical[scores.argmax(1)]
            hits += int((answer == word[:, 3]).sum())
        correct[category] = hits
    return AnalogyResult(correct, covered, total)


def rank(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1 … n of ``values`` ``(n,)``, ties sharing the mean of the ranks they span."""
    values = torch.as_tensor(values, dtype=torch.float64)
    order = torch.argsort(values, stable=True)
    sorted_values = values[order]
    ranks = torch.empty_like(values)
    # Group equal values: each group's rank is the mean of its positions (1-based).
    new_group = torch.ones_like(sorted_values, dtype=torch.bool)
    new_group[1:] = sorted_values[1:] != sorted_values[:-1]
    group = torch.cumsum(new_group.long(), 0) - 1
    positions = torch.arange(1, values.numel() + 1, dtype=torch.float64)
    sums = torch.zeros(int(group[-1]) + 1 if values.numel() else 0, dtype=torch.float64).index_add_(0, group, positions)
    sizes = torch.bincount(group).to(torch.float64)
    ranks[order] = (sums / sizes)[group]
    return ranks


def spearman(x: Sequence[float] | torch.Tensor, y: Sequence[float] | torch.Tensor) -> float:
    """Spearman's rank correlation ρ: Pearson's correlation of the ranks (ties get mean ranks)."""
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f"x and y must be one-dimensional and equally long; got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.numel() < 2:
        raise ValueError(f"Spearman's ρ needs at least 2 pairs; got {x.numel()}")
    rx, ry = rank(x), rank(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(rx.norm() * ry.norm())
    if denominator == 0:
        raise ValueError("Spearman's ρ is undefined when one of the variables is constant")
    return float((rx * ry).sum()) / denominator


@dataclass(frozen=True)
class SimilarityResult:
    """Spearman's ρ between cosine similarities and human scores, over the ``covered`` of ``total`` pairs."""

    rho: float
    covered: int
    total: int

    @property
    def coverage(self) -> float:
        """The fraction of pairs with both words in the vocabulary."""
        return self.covered / self.total if self.total else 0.0


def evaluate_similarity(
    vectors: torch.Tensor, itos: Sequence[str], pairs: Iterable[tuple[str, str, float]]
) -> SimilarityResult:
    """Spearman's ρ between the cosine of each word pair and its human score (pairs with unknown words skipped)."""
    vectors = unit_rows(check_vectors(vectors, itos))
    lookup = Lookup(itos)
    pairs = list(pairs)
    known = [(lookup.get(a), lookup.get(b), s) for a, b, s in pairs]
    known = [(i, j, s) for i, j, s in known if i is not None and j is not None]
    if len(known) < 2:
        raise ValueError(f"only {len(known)} of {len(pairs)} pairs have both words in the vocabulary")
    left = torch.tensor([i for i, _, _ in known])
    right = torch.tensor([j for _, j, _ in known])
    cosines = (vectors[left] * vectors[right]).sum(1)
    return SimilarityResult(spearman(cosines, [s for _, _, s in known]), len(known), len(pairs))


def evaluate(vectors: torch.Tensor, itos: Sequence[str]) -> dict[str, float | dict[str, float]]:
    """The book's word-vector yardstick: analogies (3CosAdd), WordSim-353 and MEN, as plain numbers."""
    analogies = evaluate_analogies(vectors, itos, data.analogy_questions())
    ws353 = evaluate_similarity(vectors, itos, data.wordsim353())
    men = evaluate_similarity(vectors, itos, data.men())
    return {
        "analogy_accuracy": analogies.accuracy,
        "analogy_coverage": analogies.coverage,
        "analogy_semantic": analogies.semantic_accuracy,
        "analogy_syntactic": analogies.syntactic_accuracy,
        "analogy_by_category": {n: analogies.category_accuracy(n) for n in analogies.total},
        "ws353_rho": ws353.rho,
        "ws353_coverage": ws353.coverage,
        "men_rho": men.rho,
        "men_coverage": men.coverage,
    }


# ----------------------------------------------------------------------------------- vector files


def save_vectors(path: str | Path, vectors: torch.Tensor, itos: Sequence[str]) -> None:
    """Write vectors in word2vec's text format: a header ``|V| dim``, then one ``word x1 … xd`` per line.

    Fields are separated by spaces, so a word may hold no whitespace (word2vec writes phrases as ``new_york``).
    """
    vectors = check_vectors(vectors, itos)
    bad = next((w for w in itos if not w or any(c.isspace() for c in w)), None)
    if bad is not None:
        raise ValueError(
            f"word {bad!r} is empty or holds whitespace, which the word2vec text format uses between fields; "
            f"join its parts with '_' (as word2vec does for phrases)"
        )
    lines = [f"{vectors.shape[0]} {vectors.shape[1]}"]
    lines += [w + " " + " ".join(f"{x:.6g}" for x in row) for w, row in zip(itos, vectors.tolist(), strict=True)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_vectors(path: str | Path) -> tuple[torch.Tensor, list[str]]:
    """Read a word2vec text file into ``(vectors (|V|, dim), itos)``; a wrong shape is a clear error.

    Trailing whitespace on a line is ignored: word2vec.c writes a space after every number.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError(f"{path} is empty; expected a header '|V| dim' and one line per word")
    header = lines[0].split()
    if len(header) != 2 or not all(x.isdigit() for x in header):
        raise ValueError(f"{path}: the first line must be '|V| dim'; got {lines[0]!r}")
    size, dim = map(int, header)
    rows = [line.rstrip().split(" ") for line in lines[1:] if line.strip()]
    if len(rows) != size:
        raise ValueError(f"{path}: the header announces {size} words but the file has {len(rows)}")
    values = []
    for number, row in enumerate(rows, start=2):
        if len(row) != dim + 1:
            hint = " (a word that holds a space?)" if len(row) > dim + 1 else ""
            raise ValueError(f"{path}, line {number}: expected a word and {dim} numbers; got {len(row)} fields{hint}")
        try:
            values.append([float(x) for x in row[1:]])
        except ValueError:
            raise ValueError(f"{path}, line {number}: the values of {row[0]!r} are not all numbers") from None
    return torch.tensor(values, dtype=torch.float32), [row[0] for row in rows]
