"""Evaluation metrics shared by the chapters: perplexity, accuracy, and BLEU/chrF through sacrebleu."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch


def perplexity(total_nll: float, num_tokens: int) -> float:
    """Perplexity from a summed negative log-likelihood (natural log) over ``num_tokens`` predicted tokens."""
    if num_tokens <= 0:
        raise ValueError(f"num_tokens must be positive; got {num_tokens}")
    if total_nll < 0:
        raise ValueError(f"total_nll must be >= 0 (a negative log-likelihood); got {total_nll}: probabilities above 1?")
    mean = total_nll / num_tokens
    return math.inf if mean > 709.0 else math.exp(mean)  # exp overflows float64 above ~709.78


def accuracy(logits_or_predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of positions where the prediction (argmax of the last dimension, if logits) equals the target."""
    predictions = logits_or_predictions
    if predictions.is_floating_point() and predictions.isnan().any():
        raise ValueError("logits_or_predictions hold NaN; no prediction can be read from them")
    if predictions.dim() == targets.dim() + 1:
        predictions = predictions.argmax(dim=-1)
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)} differ in shape")
    if targets.numel() == 0:
        raise ValueError("targets is empty")
    return (predictions == targets).float().mean().item()


def macro_f1(predictions: torch.Tensor, targets: torch.Tensor, num_classes: int) -> float:
    """The mean over classes of each class's F1 = 2·TP / (2·TP + FP + FN): every class counts the same.

    ``predictions`` and ``targets`` are class ids ``(examples,)``. A class that is neither predicted nor present
    scores 0 (scikit-learn's default), so an absent class lowers the mean instead of being silently skipped.
    """
    predictions, targets = torch.as_tensor(predictions), torch.as_tensor(targets)
    for name, ids in (("predictions", predictions), ("targets", targets)):
        if ids.is_floating_point():
            raise TypeError(f"{name} must be integer class ids; got {ids.dtype}")
    if predictions.shape != targets.shape or predictions.dim() != 1:
        raise ValueError(
            f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)} must both be (examples,)"
        )
    if targets.numel() == 0:
        raise ValueError("targets is empty")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}")
    for name, ids in (("predictions", predictions), ("targets", targets)):
        if int(ids.min()) < 0 or int(ids.max()) >= num_classes:
            raise ValueError(f"{name} must be class ids in [0, {num_classes}); got values {sorted(set(ids.tolist()))[:5]}")
    scores = []
    for c in range(num_classes):
        tp = int(((predictions == c) & (targets == c)).sum())
        fp = int(((predictions == c) & (targets != c)).sum())
        fn = int(((predictions != c) & (targets == c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / num_classes


# ------------------------------------------------------------------------------------------ translation


def _check_corpus(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    for name, values in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise TypeError(f"{name} must be a list of strings, one per sentence")
    if len(hypotheses) != len(references):
        raise ValueError(
            f"hypotheses ({len(hypotheses)}) and references ({len(references)}) must have one entry per sentence"
        )
    if not hypotheses:
        raise ValueError("hypotheses is empty; need at least one sentence to score")


UNK = "<unk>"
UNK_MARK = "\u2047"  # "⁇": one symbol that sacreBLEU's tokenizer keeps whole and no reference contains


def _scored(hypotheses: Sequence[str]) -> list[str]:
    """Hypotheses as sacreBLEU scores them: each ``<unk>`` a model wrote becomes one word that matches nothing
    (sacreBLEU's tokenizer would split ``<unk>`` into the three tokens ``<``, ``unk``, ``>``)."""
    return [h.replace(UNK, UNK_MARK) for h in hypotheses]


def bleu(
    hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = True
) -> float:
    """Corpus BLEU (0–100) of detokenised ``hypotheses``: sacreBLEU, one reference each.

    sacreBLEU tokenises both sides itself (its ``13a`` tokenizer); :func:`signature`
    says how a score was computed. ``lowercase`` (the default) ignores case: the
    book's models write lower case, so this is not the cased BLEU of most papers.
    An ``<unk>`` in a hypothesis counts as one wrong word.
    """
    import sacrebleu

    _check_corpus(hypotheses, references)
    # sacrebleu wants reference *streams*: stream j = the j-th reference of every line
    streams = [list(references)]
    scorer = sacrebleu.BLEU(lowercase=lowercase)
    return scorer.corpus_score(_scored(hypotheses), streams).score


def chrf(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = True) -> float:
    """Corpus chrF (0–100): the F-score of character n-grams, computed by sacreBLEU (``<unk>`` as in :func:`bleu`)."""
    import sacrebleu

    _check_corpus(hypotheses, references)
    return sacrebleu.CHRF(lowercase=lowercase).corpus_score(_scored(hypotheses), [list(references)]).score


def signature(metric: str = "bleu", lowercase: bool = True) -> str:
    """sacreBLEU's signature of :func:`bleu` or :func:`chrf` (Post 2018): the settings and version of the score."""
    import sacrebleu

    metrics = {"bleu": sacrebleu.BLEU, "chrf": sacrebleu.CHRF}
    if metric not in metrics:
        raise ValueError(f"metric must be one of {sorted(metrics)}; got {metric!r}")
    scorer = metrics[metric](lowercase=lowercase)
    scorer.corpus_score(["a"], [["a"]])  # one reference per sentence, as the book scores
    return str(scorer.get_signature())


def bleu_by_length(
    hypotheses: Sequence[str], references: Sequence[str], source_lengths: Sequence[int], edges: Sequence[int]
) -> list[tuple[str, int, float]]:
    """Corpus BLEU within buckets of source length: ``(label, sentences, BLEU)`` per bucket ``[edges[i], edges[i+1])``.

    The last bucket is open-ended (``edges[-1]`` and longer); a bucket without sentences is left out.
    """
    _check_corpus(hypotheses, references)
    if len(source_lengths) != len(hypotheses):
        raise ValueError(f"source_lengths ({len(source_lengths)}) must have one entry per sentence ({len(hypotheses)})")
    if len(edges) < 1 or list(edges) != sorted(set(edges)):
        raise ValueError(f"edges must be strictly increasing lengths; got {list(edges)}")
    rows = []
    bounds = [*edges, None]
    for low, high in itertools.pairwise(bounds):
        chosen = [i for i, n in enumerate(source_lengths) if n >= low and (high is None or n < high)]
        if chosen:
            label = f"{low}+" if high is None else f"{low}–{high - 1}"
            rows.append((label, len(chosen), bleu([hypotheses[i] for i in chosen], [references[i] for i in chosen])))
    return rows
