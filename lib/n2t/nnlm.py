"""Bengio et al.'s (2003) feed-forward neural language model, a body for the :mod:`n2t.lm` harness.

The model reads the ``n - 1`` previous words through one shared embedding matrix C, concatenates them into x,
and computes ``y = b + W x + U tanh(d + H x)``. Here the body returns the hidden vector ``tanh(d + H x)``, with x
appended when ``direct=True``; the harness's head supplies ``b`` and ``[U W]``, so with a full-softmax head the
output is exactly Bengio's ``y``. The zoo artefact ``"nnlm"`` is this model trained on WikiText-2.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from n2t import lm, zoo
from n2t.checks import positive_ints, probability
from n2t.profile import Settings
from n2t.train import records_arguments, seed_everything


def _check_ids(ids: torch.Tensor) -> None:
    if ids.dim() != 2:
        raise ValueError(f"ids must have shape (batch, time); got {tuple(ids.shape)}")


class NNLM(nn.Module):
    """The body of Bengio's NNLM: ids ``(batch, time)`` → hidden ``(batch, time, dim)``.

    ``context_size`` = n − 1 previous words, each an ``embed_dim`` vector; ``hidden_dim`` tanh units; with
    ``direct=True`` the concatenated embeddings are appended to the hidden vector (Bengio's direct connections
    W x). The state carried between windows is the last ``context_size - 1`` input ids; at the start of a
    stream the missing context is ``pad_id`` (by default 1, the id of ``<eos>`` in the WikiText-2 vocabulary).
    """

    @records_arguments
    def __init__(
        self,
        vocab_size: int,
        context_size: int,
        embed_dim: int,
        hidden_dim: int,
        direct: bool = False,
        dropout: float = 0.0,
        pad_id: int = lm.START_ID,
    ) -> None:
        super().__init__()
        positive_ints(vocab_size=vocab_size, context_size=context_size, embed_dim=embed_dim, hidden_dim=hidden_dim)
        probability("dropout", dropout)
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id must be an id in [0, {vocab_size}); got {pad_id}")
        self.vocab_size, self.context_size, self.pad_id = (
            vocab_size,
            context_size,
            pad_id,
        )
        self.direct = direct
        self.embedding = nn.Embedding(vocab_size, embed_dim)  # C: one row per word
        # Small initial vectors (as in Bengio et al.'s and PyTorch's word LMs): with N(0, 1), the
        # default, the random start would outweigh what training teaches the word vectors.
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.hidden = nn.Linear(context_size * embed_dim, hidden_dim)  # H and d
        self.dropout = nn.Dropout(dropout)
        self.dim = hidden_dim + (context_size * embed_dim if direct else 0)

    def forward(
        self, ids: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden vectors ``(batch, time, dim)``; the new state: the last n − 2 ids."""
        _check_ids(ids)
        keep = self.context_size - 1
        if state is None:  # the start of a text: the missing context is pad_id
            state = ids.new_full((ids.shape[0], keep), self.pad_id)
        text = torch.cat([state, ids], dim=1)  # (batch, keep + time)
        windows = text.unfold(1, self.context_size, 1)  # (batch, time, n - 1)
        x = self.embedding(windows).flatten(2)  # (batch, time, (n - 1) m)
        x = self.dropout(x)
        h = self.dropout(torch.tanh(self.hidden(x)))  # tanh(d + H x)
        if self.direct:  # the head's [U W] then adds W x
            h = torch.cat([h, x], dim=-1)
        return h, text[:, text.shape[1] - keep :]


def build(vocab_size: int, cfg: Settings | dict[str, Any]) -> lm.NeuralLM:
    """An NNLM body with the harness's head, sized by the profile settings ``cfg``."""
    body = NNLM(
        vocab_size,
        cfg["context_size"],
        cfg["embed_dim"],
        cfg["hidden_dim"],
        direct=cfg["direct"],
        dropout=cfg["dropout"],
    )
    return lm.NeuralLM(body, vocab_size, adaptive=cfg["adaptive"])


@zoo.register("nnlm", section="neural_lm")
def train_nnlm(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The NNLM of Chapter 3, trained on WikiText-2 by the harness and scored on the whole test split."""
    vocab = lm.wikitext2_vocab()
    train_ids, valid_ids, test_ids = lm.wikitext2_splits(cfg.train_lines, cfg.valid_lines)
    seed_everything(cfg.seed)
    model = build(len(vocab), cfg)
    log = lm.train_lm(
        model,
        train_ids,
        valid_ids,
        cfg.train_tokens,
        batch_size=cfg.batch_size,
        seq_len=cfg.seq_len,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        eval_every=cfg.eval_every,
        seed=cfg.seed,
        desc="train NNLM",
    )
    return lm.harness_artefact(
        model, log, test_ids, valid_ids,
        embedding=model.body.embedding.weight.detach().cpu().clone(), itos=list(vocab.itos),
    )


def load(artefact: zoo.Artefact) -> lm.NeuralLM:
    """Rebuild the trained model of a zoo ``"nnlm"`` artefact (on the CPU, in eval mode)."""
    return lm.rebuild(NNLM, artefact.state)
