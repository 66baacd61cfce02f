"""Evaluation metrics shared by the chapters: perplexity and accuracy (BLEU/chrF arrive with translation)."""

from __future__ import annotations

import math

import torch


def perplexity(total_nll: float, num_tokens: int) -> float:
    """Perplexity from a summed negative log-likelihood (natural log) over ``num_tokens`` predicted tokens."""
    if num_tokens <= 0:
        raise ValueError(f"num_tokens must be positive; got {num_tokens}")
    if math.isinf(total_nll) and total_nll > 0:
        return math.inf
    return math.exp(total_nll / num_tokens)


def accuracy(logits_or_predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of positions where the prediction (argmax of the last dimension, if logits) equals the target."""
    predictions = logits_or_predictions
    if predictions.dim() == targets.dim() + 1:
        predictions = predictions.argmax(dim=-1)
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)} differ in shape")
    if targets.numel() == 0:
        raise ValueError("targets is empty")
    return (predictions == targets).float().mean().item()
