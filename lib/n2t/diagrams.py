"""The book's architecture diagrams, one function per model, drawn in one style (:mod:`n2t.drawing`).

Each function returns a :class:`n2t.drawing.Diagram`, which a notebook shows as an SVG. Sizes printed in a
diagram come from the settings that build the model (``n2t.profile.current().settings(...)``), so the picture
and the code cannot drift apart; every diagram checks its own layout.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.patches import Circle

from n2t.drawing import FONT, INK, KINDS, MUTED, SMALL, Box, Diagram
from n2t.profile import Settings, current


def _settings(section: str, settings: Settings | Mapping[str, Any] | None) -> Mapping[str, Any]:
    return current().settings(section) if settings is None else settings


# ------------------------------------------------------------------------------------ Chapter 3


def nnlm(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """Bengio's NNLM as Chapter 3 trains it: look-ups in Q, concatenation, tanh, softmax; W x dashed.

    Sizes from the profile section ``neural_lm`` (``context_size``, ``embed_dim``, ``hidden_dim``,
    ``direct``, ``adaptive``).
    """
    cfg = _settings("neural_lm", settings)
    n_1, m, h = cfg["context_size"], cfg["embed_dim"], cfg["hidden_dim"]
    d = Diagram("nnlm", 5.8, 5.45)
    xs = np.linspace(0.75, 3.65, n_1) if n_1 > 1 else np.array([2.2])
    words = [d.box(x, 0.75, 0.78, 0.38, f"$w_{{t-{n_1 - i}}}$", "data") for i, x in enumerate(xs)]
    table = d.box(2.2, 1.55, 3.9, 0.5, f"look up each word's row of $\\mathbf{{Q}}$  (|V| × m, m = {m})",
                  "embedding")
    for word in words:
        d.arrow(word.top, (word.x, table.bottom[1]))
    cell = 3.6 / n_1
    cells = [d.box(2.2 + (i - (n_1 - 1) / 2) * cell, 2.35, cell, 0.36, f"$\\mathbf{{Q}}_{{w_{{t-{n_1 - i}}}}}$",
                   "embedding", round_=0.0) for i in range(n_1)]
    for c in cells:
        d.arrow((c.x, table.top[1]), c.bottom)
    d.text(0.3, 2.75, f"$\\mathbf{{x}}$: (n − 1)m = {n_1 * m}", ha="left")
    hidden = d.box(2.2, 3.45, 2.6, 0.5, f"$\\tanh(\\mathbf{{d}} + \\mathbf{{H}}\\mathbf{{x}})$   h = {h}",
                   "feedforward")
    d.arrow((2.2, cells[0].top[1]), hidden.bottom)
    head = "adaptive softmax over |V| (ours)" if cfg.get("adaptive") else "softmax over |V|"
    out = d.box(2.2, 4.4, 3.9, 0.62, f"{head}\n$\\mathbf{{y}} = \\mathbf{{b}} + \\mathbf{{W}}\\mathbf{{x}}"
                f" + \\mathbf{{U}}\\tanh(\\mathbf{{d}} + \\mathbf{{H}}\\mathbf{{x}})$", "output")
    d.arrow(hidden.top, out.bottom)
    d.text(2.2, 5.2, f"$P(w_t \\mid w_{{t-{n_1}:t-1}})$", size=FONT)
    d.arrow(out.top, (2.2, 5.02))
    # the direct connections W x: dashed, grey where our model leaves them out
    colour = INK if cfg["direct"] else MUTED
    right = cells[-1].right
    d.path([right, (4.6, right[1]), (4.6, out.y), out.right], dashed=True, colour=colour)
    used = "in our model\n(direct=True)" if cfg["direct"] else "left out of our\ntrained model\n(direct=False)"
    d.text(4.7, 3.3, f"$\\mathbf{{W}}\\mathbf{{x}}$: direct\nconnections,\n{used}", ha="left", colour=colour)
    d.legend(0.18, ["data", "embedding", "feedforward", "output"])
    return d


# ------------------------------------------------------------------------------------ Chapter 5


def classifier(settings: Settings | Mapping[str, Any] | None = None, dim: int | None = None) -> Diagram:
    """Chapter 5's classifier: token encoder E → mean ‖ max pooling → the head g_θ; what each variant trains.

    ``settings``: the profile section ``transfer`` (``hidden``); ``dim``: the token vectors' width (default:
    the word2vec vectors', section ``word2vec``).
    """
    cfg = _settings("transfer", settings)
    dim = current().settings("word2vec")["dim"] if dim is None else dim
    d = Diagram("classifier", 5.6, 6.55)
    xs = [0.9, 1.95, 3.0, 4.05]
    names = ["$w_1$", "$w_2$", "…", "$w_T$"]
    tokens = [d.box(x, 1.00, 0.7, 0.38, name, "data") for x, name in zip(xs, names, strict=True)]
    table = d.box(2.5, 1.97, 4.6, 1.0, f"token encoder $\\mathbf{{E}}$: the row of each token, d = {dim}\n"
                  "random: learned from the labels alone\nword2vec frozen: fixed, never trained\n"
                  "word2vec fine-tuned: trained with the head", "embedding", size=SMALL)
    for token in tokens:
        d.arrow(token.top, (token.x, table.bottom[1]))
    vectors = [d.box(x, 2.90, 0.7, 0.36, f"$\\mathbf{{E}}_{{{name[1:-1]}}}$" if name != "…" else "…",
                     "embedding") for x, name in zip(xs, names, strict=True)]
    for v in vectors:
        d.arrow((v.x, table.top[1]), v.bottom)
    mean = d.box(1.6, 3.80, 1.7, 0.42, "mean over t", "operation")
    top = d.box(3.4, 3.80, 1.7, 0.42, "max over t", "operation")
    for v in vectors:  # every vector goes into both poolings
        d.path([v.top, (v.x, 3.30)], head=False)
    d.path([(vectors[0].x, 3.30), (vectors[-1].x, 3.30)], head=False)
    d.arrow((mean.x, 3.30), mean.bottom)
    d.arrow((top.x, 3.30), top.bottom)
    joined = d.box(2.5, 4.45, 2.6, 0.4, f"[mean ‖ max]: 2d = {2 * dim}", "operation")
    d.arrow(mean.top, joined.at(-0.6, -1))
    d.arrow(top.top, joined.at(0.6, -1))
    hidden = cfg["hidden"]
    norm = d.box(2.5, 5.10, 2.6, 0.38, "batch normalisation", "norm")
    ffn = d.box(2.5, 5.60, 3.4, 0.38, f"dropout, linear 2d → {hidden}, ReLU", "feedforward")
    out = d.box(2.5, 6.10, 3.4, 0.38, f"linear {hidden} → C, softmax: $P(y \\mid w_{{1:T}})$", "output")
    for a, b in ((joined, norm), (norm, ffn), (ffn, out)):
        d.arrow(a.top, b.bottom)
    d.path([(4.35, 4.91), (4.45, 4.91), (4.45, 6.29), (4.35, 6.29)], head=False, colour=MUTED)
    d.text(4.55, 5.60, "$g_\\theta$:\ntrained in\nevery variant", ha="left", colour=MUTED)
    d.legend(0.18, ["embedding", "operation", "norm", "feedforward", "output"])
    return d


# ------------------------------------------------------------------------------------ Chapter 6


def lstm_cell(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """One LSTM step: the gates i, f, g, o from x_t and h_{t−1}; the cell path c_{t−1} → c_t along the top.

    ``settings``: the profile section ``recurrent`` (``hidden_dim``: the LSTM LM's width).
    """
    cfg = _settings("recurrent", settings)
    d = Diagram("lstm-cell", 5.8, 4.1)
    cell_y, bus_y, gate_y = 3.35, 1.3, 1.95
    d.text(0.12, cell_y + 0.22, "$\\mathbf{c}_{t-1}$", size=FONT, ha="left")
    d.text(5.68, cell_y + 0.22, "$\\mathbf{c}_t$", size=FONT, ha="right")
    forget = d.op(1.6, cell_y, "×")
    write = d.op(3.0, cell_y, "+")
    d.arrow((0.12, cell_y), forget.left, width=2.0)
    d.arrow(forget.right, write.left, width=2.0)
    d.arrow(write.right, (5.68, cell_y), width=2.0)
    gates = {}
    for x, key, fn in ((1.6, "f", "\\sigma"), (2.45, "i", "\\sigma"), (3.3, "g", "\\tanh"), (4.15, "o", "\\sigma")):
        gates[key] = d.box(x, gate_y, 0.78, 0.46, f"$\\mathbf{{{key}}}_t$: ${fn}$", "recurrent", size=SMALL)
    d.arrow(gates["f"].top, forget.bottom)
    scale = d.op(3.0, 2.7, "×")
    d.path([gates["i"].top, (gates["i"].x, scale.y), scale.left])
    d.path([gates["g"].top, (gates["g"].x, scale.y), scale.right])
    d.arrow(scale.top, write.bottom)
    squash = d.box(4.95, 2.7, 0.62, 0.36, "tanh", "operation")
    d.arrow((squash.x, cell_y), squash.top)
    show = d.op(4.95, gate_y, "×")
    d.arrow(squash.bottom, show.top)
    d.arrow(gates["o"].right, show.left)
    d.path([show.bottom, (show.x, 0.8), (5.68, 0.8)])
    d.text(5.68, 1.0, "$\\mathbf{h}_t$", size=FONT, ha="right")
    # the input bus: [x_t; h_{t−1}] feeds every gate
    d.text(0.12, bus_y + 0.2, "$\\mathbf{h}_{t-1}$", size=FONT, ha="left")
    d.path([(0.12, bus_y), (gates["o"].x, bus_y)], head=False)
    d.path([(1.05, 0.45), (1.05, bus_y)], head=False)
    d.text(1.05, 0.3, "$\\mathbf{x}_t$", size=FONT)
    for gate in gates.values():
        d.arrow((gate.x, bus_y), gate.bottom)
    d.text(1.3, 0.45, f"each gate: its own weights on\n$[\\mathbf{{x}}_t; \\mathbf{{h}}_{{t-1}}]$; "
           f"{cfg['hidden_dim']} units each", ha="left", colour=MUTED)
    d.legend(3.85, ["recurrent", "operation"], x0=1.7)
    return d


def bilm(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """ELMo's biLM: a forward and a backward LSTM LM over one shared embedding and one shared softmax.

    ``settings``: the profile section ``recurrent`` (``bilm_dim``, ``bilm_layers``).
    """
    cfg = _settings("recurrent", settings)
    layers, width = cfg["bilm_layers"], cfg["bilm_dim"]
    d = Diagram("bilm", 5.5, 3.35 + 0.62 * layers)
    columns = {"forward": [0.55, 1.35, 2.15], "backward": [3.35, 4.15, 4.95]}
    tokens = ["$t_{k-1}$", "$t_k$", "$t_{k+1}$"]
    predicts = {"forward": ["$t_k$", "$t_{k+1}$", "$t_{k+2}$"], "backward": ["$t_{k-2}$", "$t_{k-1}$", "$t_k$"]}
    embed_y, first_y = 1.4, 2.1
    top_y = first_y + 0.62 * (layers - 1)
    soft_y = top_y + 0.75
    embed = d.box(2.75, embed_y, 5.1, 0.36, f"shared token embedding (width {width})", "embedding")
    soft = d.box(2.75, soft_y, 5.1, 0.36, "shared softmax over |V| (adaptive)", "output")
    for direction, xs in columns.items():
        for x, token, target in zip(xs, tokens, predicts[direction], strict=True):
            word = d.box(x, 0.72, 0.66, 0.36, token, "data")
            d.arrow(word.top, (x, embed.bottom[1]))
            below = (x, embed.top[1])
            for j in range(layers):
                cell = d.box(x, first_y + 0.62 * j, 0.66, 0.36, f"LSTM {j + 1}", "recurrent", size=SMALL)
                d.arrow(below, cell.bottom)
                below = cell.top
            d.arrow(below, (x, soft.bottom[1]))
            d.arrow((x, soft.top[1]), (x, soft_y + 0.5))
            d.text(x, soft_y + 0.62, target, size=FONT)
        step = 1 if direction == "forward" else -1
        for j in range(layers):
            y = first_y + 0.62 * j
            for a, b in itertools.pairwise(xs):
                start, end = (a + 0.33, b - 0.33) if step == 1 else (b - 0.33, a + 0.33)
                d.arrow((start, y), (end, y))
    d.text(1.35, 0.25, "forward LM: reads\nleft to right", colour=MUTED)
    d.text(4.15, 0.25, "backward LM: reads\nright to left", colour=MUTED)
    d.text(2.75, 0.25, f"{layers} LSTM\nlayers, {width}\nwide each", colour=MUTED)
    return d


def scalar_mix(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """ELMo's scalar mix at token k: γ Σ_j softmax(s)_j h_{k,j} over the embedding and the biLM's layers.

    ``settings``: the profile section ``recurrent`` (``bilm_dim``, ``bilm_layers``).
    """
    cfg = _settings("recurrent", settings)
    layers, width = cfg["bilm_layers"], cfg["bilm_dim"]
    d = Diagram("scalar-mix", 5.8, 1.25 + 0.62 * layers)
    total = d.op(4.1, 0.75 + 0.31 * layers, "Σ")
    for j in range(layers + 1):
        y = 0.75 + 0.62 * (layers - j)
        if j == 0:
            text, kind = "$\\mathbf{h}_{k,0}$: embedding of $t_k$, twice", "embedding"
        else:
            text, kind = (f"$\\mathbf{{h}}_{{k,{j}}} = [\\overrightarrow{{\\mathbf{{h}}}}_{{k,{j}}}; "
                          f"\\overleftarrow{{\\mathbf{{h}}}}_{{k,{j}}}]$"), "recurrent"
        layer = d.box(1.25, y, 2.3, 0.44, text, kind)
        weight = d.op(3.0, y, "×")
        d.arrow(layer.right, weight.left)
        d.text(3.0, y + 0.27, f"softmax($\\mathbf{{s}}$)$_{j}$", colour=MUTED)
        d.arrow(weight.right, total.at(-0.9, 0.4 * np.sign(y - total.y)))
    scale = d.op(4.75, total.y, "×")
    d.text(4.75, total.y + 0.27, "γ", colour=MUTED)
    d.arrow(total.right, scale.left)
    d.arrow(scale.right, (5.15, total.y))
    d.text(5.2, total.y, "ELMo$_k$", size=FONT, ha="left")
    d.text(0.15, 0.22, f"each layer 2 · {width} = {2 * width} wide; the task learns s and γ", ha="left",
           colour=MUTED)
    return d


# ------------------------------------------------------------------------------------ Chapter 7


def _seq2seq_panel(d: Diagram, oy: float, attention: bool) -> None:
    """One encoder–decoder of Chapter 7, drawn with its bottom at height ``oy``."""
    rows = {"token": 0.3, "embed": 0.8, "join": 1.28, "state": 1.8, "upper": 2.5, "soft": 3.05, "out": 3.45}
    y = {key: oy + value for key, value in rows.items()}
    xs, names = [0.45, 1.05, 1.85], ["1", "2", "S"]
    embed = d.box(1.15, y["embed"], 1.8, 0.3, "embedding $\\mathbf{e}$", "embedding", size=SMALL)
    states = []
    for x, name in zip(xs, names, strict=True):
        token = d.box(x, y["token"], 0.46, 0.32, f"$x_{name}$", "data")
        d.arrow(token.top, (x, embed.bottom[1]))
        states.append(d.box(x, y["state"], 0.46, 0.34, f"$\\mathbf{{h}}_{name}$", "recurrent"))
        d.arrow((x, embed.top[1]), states[-1].bottom)
    d.text(1.45, y["token"], "…", size=FONT)
    d.text(1.45, y["state"] - 0.3, "…", size=FONT)
    for a, b in itertools.pairwise(states):  # the two directions of the encoder's GRU
        d.arrow(a.at(1, 0.4), b.at(-1, 0.4))
        d.arrow(b.at(-1, -0.4), a.at(1, -0.4))
    summary = d.box(2.85, y["state"], 1.45, 0.38, "$\\mathbf{c} = [\\overrightarrow{\\mathbf{h}}_S; "
                    "\\overleftarrow{\\mathbf{h}}_1]$", "operation", size=SMALL)
    d.arrow(states[-1].right, summary.left)
    d.arrow(states[0].top, summary.at(-0.5, 1), curve=-0.12)
    # the decoder, one step t
    gru = d.box(4.6, y["state"], 1.3, 0.36, "GRU: $\\mathbf{s}_{t-1} \\to \\mathbf{s}_t$", "recurrent", size=SMALL)
    d.arrow(summary.right, gru.left)
    d.text(3.77, y["state"] - 0.17, "$\\mathbf{s}_0$", colour=MUTED)
    token = d.box(4.6, y["token"], 0.6, 0.32, "$y_{t-1}$", "data")
    target = d.box(4.6, y["embed"], 1.3, 0.3, "embedding $\\mathbf{e}$", "embedding", size=SMALL)
    d.arrow(token.top, target.bottom)
    context = "$\\mathbf{c}_t$" if attention else "$\\mathbf{c}$"
    combine = d.box(4.6, y["upper"], 1.75, 0.38, f"$\\tanh(\\mathbf{{W}}_c[\\mathbf{{s}}_t; ${context}$])$",
                    "feedforward")
    d.arrow(gru.top, combine.bottom)
    if attention:
        d.arrow(target.top, gru.bottom)
        attend = d.box(1.45, y["upper"], 2.6, 0.5, "attention: $\\alpha_{tj} = $ softmax$_j$ score"
                       "$(\\mathbf{s}_t, \\mathbf{h}_j)$\n$\\mathbf{c}_t = \\Sigma_j\\, \\alpha_{tj}\\mathbf{h}_j$",
                       "attention", size=SMALL)
        for state in states:
            d.arrow(state.top, (state.x, attend.bottom[1]))
        d.path([(4.6, y["state"] + 0.33), (3.2, y["state"] + 0.33), (3.2, y["upper"] - 0.12),
                (attend.right[0], y["upper"] - 0.12)])
        d.text(3.95, y["state"] + 0.45, "query $\\mathbf{s}_t$", colour=MUTED)
        d.arrow((attend.right[0], y["upper"] + 0.12), (combine.left[0], y["upper"] + 0.12))
        d.text(3.3, y["upper"] + 0.27, "$\\mathbf{c}_t$", colour=MUTED)
    else:
        join = d.op(4.6, y["join"], "‖", r=0.12)
        d.arrow(target.top, join.bottom)
        d.arrow(join.top, gru.bottom)
        d.path([summary.bottom, (summary.x, y["join"]), join.left])
        d.path([summary.top, (summary.x, y["upper"]), combine.left])
    out = d.box(4.6, y["soft"], 1.75, 0.34, "softmax$(\\mathbf{W}_o\\,\\cdot)$", "output")
    d.arrow(combine.top, out.bottom)
    d.arrow(out.top, (4.6, y["out"] - 0.1))
    d.text(4.6, y["out"], "$y_t$", size=FONT)


def seq2seq(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """Chapter 7's encoder–decoders as the code computes them: (a) one summary vector, (b) attention.

    ``settings``: the profile section ``seq2seq`` (``embed_dim``, ``hidden_dim``).
    """
    cfg = _settings("seq2seq", settings)
    d = Diagram("seq2seq", 5.8, 8.7)
    _seq2seq_panel(d, 4.6, attention=False)
    d.text(0.1, 8.45, "(a) without attention: one summary $\\mathbf{c}$, read at every step",
           size=FONT, ha="left", bold=True)
    _seq2seq_panel(d, 0.5, attention=True)
    d.text(0.1, 4.3, "(b) with attention: a new context $\\mathbf{c}_t$ at every step", size=FONT, ha="left",
           bold=True)
    hidden = cfg["hidden_dim"]
    d.text(0.1, 0.25, f"GRUs of width {hidden} (each $\\mathbf{{h}}_j$: 2 × {hidden}); embeddings of width "
           f"{cfg['embed_dim']}", ha="left", colour=MUTED)
    return d


# ------------------------------------------------------------------------------------ Chapter 9


def multi_head_attention(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """Multi-head attention with the shapes: project, split into heads, attend, concatenate, W_O.

    Shapes in the book's letters (B batch, L_q queries, L_k keys, D = d width, H = h heads); the numbers are
    those of Chapter 10's Transformer (profile section ``transformer``: ``d_model``, ``num_heads``).
    """
    cfg = _settings("transformer", settings)
    width, heads = cfg["d_model"], cfg["num_heads"]
    d = Diagram("multi-head-attention", 5.6, 6.45)
    cols = {"Q": (1.0, "query", "L_q"), "K": (2.8, "key", "L_k"), "V": (4.6, "value", "L_k")}
    split_y, head_y, concat_y = 2.9, 3.95, 4.85
    for letter, (x, name, length) in cols.items():
        source = d.box(x, 0.8, 1.55, 0.48, f"{name}\n$(B, {length}, D)$", "data", size=SMALL)
        proj = d.box(x, 1.6, 1.1, 0.4, f"$\\mathbf{{W}}_{letter}$: d × d", "attention")
        d.arrow(source.top, proj.bottom)
        d.arrow(proj.top, (x, split_y - 0.2))
        d.text(x + 0.08, 2.12, f"$(B, {length}, D)$", ha="left", colour=MUTED)
        d.arrow((x, split_y + 0.2), (x if letter == "K" else 2.8 + (x - 2.8) * 0.55, head_y - 0.62))
    d.box(2.8, split_y, 5.2, 0.4, "split each into H heads of D/H:  $(B, H, L, D/H)$", "operation", size=SMALL)
    for k in (2, 1, 0):  # a stack of cards: one per head
        card = d.box(2.8 + 0.12 * k, head_y - 0.1 * k, 3.4, 0.84, "" if k else
                     "head $i$ = softmax$(\\mathbf{Q}_i\\mathbf{K}_i^\\top / \\sqrt{d/h})\\,\\mathbf{V}_i$\n"
                     "one per head, side by side", "attention", container=bool(k), fill="white" if k else None)
        card.patch.set_zorder(3 - 0.1 * k)
    d.text(4.78, head_y - 0.45, "× h", size=FONT, ha="left")
    d.arrow((2.8, head_y + 0.42), (2.8, concat_y - 0.2))
    d.text(2.9, head_y + 0.62, "$(B, H, L_q, D/H)$", ha="left", colour=MUTED)
    d.box(2.8, concat_y, 5.2, 0.4, "concatenate the heads:  $(B, L_q, D)$", "operation", size=SMALL)
    out = d.box(2.8, 5.5, 1.1, 0.4, "$\\mathbf{W}_O$: d × d", "attention")
    d.arrow((2.8, concat_y + 0.2), out.bottom)
    d.arrow(out.top, (2.8, 6.0))
    d.text(2.8, 6.15, "output  $(B, L_q, D)$", size=SMALL)
    d.text(0.1, 0.2, f"self-attention: query, key and value are all $\\mathbf{{X}}$. Chapter 10's Transformer:\n"
           f"D = d = {width}, H = h = {heads} heads of D/H = {width // heads}", ha="left", colour=MUTED)
    return d


# ------------------------------------------------------------------------------------ Chapter 10


BOX = 1.85  # inches: the width of a sub-layer's box in the Transformer's stacks


def _sublayers(d: Diagram, x: float, bottom: float, parts: Sequence[tuple[str, str, float]], side: int) -> list[Box]:
    """Sub-layers from ``bottom`` up, each followed by Add & LayerNorm with its residual path on ``side`` (±1).

    ``parts``: (text, kind, height) per sub-layer. Returns the boxes, bottom to top.
    """
    y, below, boxes = bottom, (x, bottom), []
    rail = x + side * (BOX / 2 + 0.15)
    for text, kind, height in parts:
        y += 0.14 + height / 2
        sub = d.box(x, y, BOX, height, text, kind, size=SMALL)
        d.arrow(below, sub.bottom)
        y += height / 2 + 0.3
        norm = d.box(x, y, BOX, 0.32, "Add & LayerNorm", "norm", size=SMALL)
        d.arrow(sub.top, norm.bottom)
        branch = below[1] + 0.07
        d.path([(x, branch), (rail, branch), (rail, norm.y), (x + side * BOX / 2, norm.y)])
        below = norm.top
        boxes += [sub, norm]
        y += 0.16
    return boxes


def transformer(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """The Transformer as Chapter 10 builds it: both stacks, their attentions and masks, post-LN (pre-LN inset).

    ``settings``: the profile section ``transformer`` (``d_model``, ``num_heads``, ``d_ff``,
    ``num_encoder_layers``, ``num_decoder_layers``).
    """
    cfg = _settings("transformer", settings)
    dm, h, ff = cfg["d_model"], cfg["num_heads"], cfg["d_ff"]
    d = Diagram("transformer", 5.4, 8.75)
    ex, dx, start = 1.3, 4.0, 2.25
    for x, text in ((ex, "source ids $(B, S)$"), (dx, "target ids, shifted:\n<bos> $y_1 \\dots y_{T-1}$")):
        ids = d.box(x, 0.5, BOX, 0.52, text, "data", size=SMALL)
        emb = d.box(x, 1.22, BOX, 0.36, "embedding × √$d_{model}$", "embedding", size=SMALL)
        d.arrow(ids.top, emb.bottom)
        add = d.op(x, 1.8, "+", r=0.13)
        d.arrow(emb.top, add.bottom)
        d.text(x - 0.4, 1.8, "sinusoidal\npositions", ha="right", colour=MUTED)
        d.arrow((x - 0.37, 1.8), add.left)
        d.arrow(add.top, (x, start))
    ffn = (f"feed-forward\n{dm} → {ff} → {dm}, ReLU", "feedforward", 0.5)
    encoder = _sublayers(d, ex, start, [(f"self-attention, h = {h}\nmask: source padding", "attention", 0.5),
                                        ffn], side=-1)
    decoder = _sublayers(d, dx, start, [
        (f"masked self-attention\nh = {h}, mask: causal", "attention", 0.5),
        (f"cross-attention, h = {h}\nkeys, values: $\\mathbf{{z}}$\nmask: source padding", "attention", 0.68),
        ffn], side=1)
    tops = {}
    for x, boxes, n, name in ((ex, encoder, cfg["num_encoder_layers"], "encoder"),
                              (dx, decoder, cfg["num_decoder_layers"], "decoder")):
        top = boxes[-1].top[1] + 0.36
        d.box(x, (start - 0.12 + top) / 2, BOX + 0.5, top - start + 0.12, kind="operation", container=True)
        d.text(x, top - 0.17, f"{name} layer × {n}", colour=MUTED)
        tops[name] = top
    # the encoder's output z goes to every decoder layer's cross-attention
    cross = decoder[2]
    z_y = tops["encoder"] + 0.3
    d.path([(ex, tops["encoder"]), (ex, z_y), ((ex + dx) / 2, z_y), ((ex + dx) / 2, cross.y), cross.left])
    d.text(ex + 0.1, z_y + 0.17, "$\\mathbf{z}$: $(B, S, d_{model})$", ha="left", colour=MUTED)
    out = d.box(dx, tops["decoder"] + 0.55, 2.3, 0.52, "linear (tied to the target\nembedding), softmax",
                "output", size=SMALL)
    d.arrow((dx, tops["decoder"]), out.bottom)
    d.arrow(out.top, (dx, out.top[1] + 0.25))
    d.text(dx, out.top[1] + 0.42, "$P(y_t \\mid y_{<t}, x)$", size=FONT)
    _norm_placements(d, 0.1, z_y + 0.55)
    d.legend(d.height - 0.95, ["embedding", "attention", "feedforward", "norm", "output", "operation"], x0=2.95)
    d.text(0.1, 0.12, f"$d_{{model}}$ = {dm}; dropout not drawn", ha="left", colour=MUTED)
    return d


def _norm_placements(d: Diagram, x0: float, y0: float) -> None:
    """The inset: post-LN (the paper's, our default) and pre-LN (``norm_first=True``), one sub-layer each."""
    rows = ((y0 + 1.45, "post-LN, the paper's and our default:\nLayerNorm(x + Sublayer(x))", "post"),
            (y0 + 0.15, "pre-LN (norm_first=True):\nx + Sublayer(LayerNorm(x)),\nand a final LayerNorm per stack",
             "pre"))
    d.text(x0, y0 + 2.45, "where the LayerNorm goes", size=SMALL, ha="left", bold=True)
    for y, title, order in rows:
        d.text(x0, y + 0.45, title, ha="left", colour=MUTED, va="bottom")
        names = ("sub-layer", "LayerNorm") if order == "post" else ("LayerNorm", "sub-layer")
        kinds = {"sub-layer": "attention", "LayerNorm": "norm"}
        first = d.box(x0 + 0.7, y, 0.85, 0.32, names[0], kinds[names[0]], size=SMALL)
        d.arrow((x0, y), first.left)
        if order == "post":
            add = d.op(x0 + 1.4, y, "+", r=0.11)
            second = d.box(x0 + 2.1, y, 0.85, 0.32, names[1], kinds[names[1]], size=SMALL)
            d.arrow(first.right, add.left)
            d.arrow(add.right, second.left)
            d.arrow(second.right, (x0 + 2.7, y))
        else:
            second = d.box(x0 + 1.65, y, 0.85, 0.32, names[1], kinds[names[1]], size=SMALL)
            add = d.op(x0 + 2.35, y, "+", r=0.11)
            d.arrow(first.right, second.left)
            d.arrow(second.right, add.left)
            d.arrow(add.right, (x0 + 2.7, y))
        d.path([(x0 + 0.12, y), (x0 + 0.12, y + 0.3), (add.x, y + 0.3), add.top])


# ------------------------------------------------------------------------------------ Chapter 11

GAP = 0.58  # inches between two token columns
_TEXT = ["the", "cat", "sat", "on", "the", "mat"]
# One training example per model, as Chapter 11's objectives make them (<X>, <Y>: T5's sentinels
# <extra_id_0>, <extra_id_1>); None: a position whose output is not scored. tests/test_diagrams.py checks
# them against n2t.pretrain.
EXAMPLES: dict[str, dict[str, list[str | None]]] = {
    "GPT": {"inputs": _TEXT, "targets": [*_TEXT[1:], "<eos>"]},
    "BERT": {"inputs": ["the", "cat", "<mask>", "on", "the", "mat"], "targets": [None, None, "sat", None, None, None]},
    "T5": {"inputs": ["the", "cat", "<X>", "the", "mat"], "decoder_inputs": ["<pad>", "<X>", "sat", "on", "<Y>"],
           "targets": ["<X>", "sat", "on", "<Y>", "<eos>"]},
}


def _tokens(d: Diagram, x0: float, y: float, tokens: Sequence[str | None], kind: str = "data",
            gap: float = GAP, size: float = SMALL) -> list[float]:
    """A row of token boxes from ``x0``, ``gap`` apart; ``None``: no box (nothing predicted there)."""
    xs = [x0 + gap * i for i in range(len(tokens))]
    for x, token in zip(xs, tokens, strict=True):
        if token is None:
            d.text(x, y, "·", size=FONT, colour=MUTED)
        else:
            width = gap + (-0.06 if len(token) < 5 else 0.0 if len(token) == 5 else 0.04)  # room for <mask>
            d.box(x, y, width, 0.32, token, kind, size=size)
    return xs


def _stack(d: Diagram, xs: Sequence[float], y: float, query: int, keys: Iterable[int], text: str) -> Box:
    """A Transformer stack over the columns ``xs``: the query's dot joined by arcs to the keys it may see."""
    bar = d.box((xs[0] + xs[-1]) / 2, y, xs[-1] - xs[0] + 0.56, 0.66, "", "attention")
    dot_y = y - 0.2
    for i, x in enumerate(xs):
        filled = i == query
        d.ax.add_patch(Circle((x, dot_y), 0.045, facecolor=INK if filled else "white", edgecolor=INK, zorder=5))
        if i in keys and i != query:
            dx = x - xs[query]
            d.arrow((xs[query], dot_y + 0.04), (x, dot_y + 0.04), head=False, curve=-0.36 / dx,
                    colour=KINDS["attention"][0], width=1.3, zorder=4.5)
    d.text(bar.x, y + 0.2, text, colour=INK)
    return bar


def _wire(d: Diagram, xs: Sequence[float], y0: float, y1: float) -> None:
    for x in xs:
        d.arrow((x, y0), (x, y1))


def _panel(d: Diagram, oy: float, title: str, inputs: Sequence[str | None], query: int, keys: Iterable[int],
           stack: str, targets: Sequence[str | None]) -> tuple[list[float], Box]:
    """One model: its title, input tokens at ``oy``, the stack with the query's arcs, and the scored targets."""
    d.text(0.1, oy + 1.98, title, size=FONT, ha="left", bold=True)
    xs = _tokens(d, 0.45, oy + 0.2, inputs, gap=0.64)
    _wire(d, xs, oy + 0.36, oy + 0.57)
    bar = _stack(d, xs, oy + 0.9, query, keys, stack)
    _wire(d, [x for x, t in zip(xs, targets, strict=True) if t], oy + 1.23, oy + 1.39)
    _tokens(d, 0.45, oy + 1.55, targets, "output", gap=0.64)
    return xs, bar


def pretraining(settings: Settings | Mapping[str, Any] | None = None) -> Diagram:
    """GPT, BERT and T5 on one training example each: what each position sees and what each model predicts.

    ``settings``: the profile section ``pretraining`` (``d_model``, ``num_layers``, ``num_heads``, ``mask_rate``).
    """
    cfg = _settings("pretraining", settings)
    d = Diagram("pretraining", 5.5, 8.45)
    size = f"{cfg['num_layers']} layers, d = {cfg['d_model']}"
    notes = 4.1  # where the notes beside each stack begin
    gpt, bert, t5 = EXAMPLES["GPT"], EXAMPLES["BERT"], EXAMPLES["T5"]
    # GPT: every position predicts the next token, seeing itself and the positions before it
    _panel(d, 6.15, "GPT: decoder-only, causal mask", gpt["inputs"], 2, range(3), size, gpt["targets"])
    d.text(notes, 7.05, "a position sees\nitself and the\nones before it;\neach predicts\nthe next token",
           ha="left", colour=MUTED)
    # BERT: all positions see each other; only the chosen positions are predicted
    _panel(d, 3.85, "BERT: encoder-only, no mask", bert["inputs"], 2, range(6), size, bert["targets"])
    rate = round(100 * cfg["mask_rate"])
    d.text(notes, 4.75, f"every position\nsees every other;\nonly the chosen\n{rate} % are predicted",
           ha="left", colour=MUTED)
    # T5: the encoder reads the corrupted text; the decoder, above it, writes each sentinel and its span
    oy = 0.45
    d.text(0.1, oy + 3.08, "T5: encoder–decoder, span corruption", size=FONT, ha="left", bold=True)
    enc = _tokens(d, 0.45, oy, t5["inputs"], gap=0.64)
    _wire(d, enc, oy + 0.16, oy + 0.37)
    left = _stack(d, enc, oy + 0.7, 2, range(5), "encoder: no mask")
    dec = _tokens(d, 0.45, oy + 1.4, t5["decoder_inputs"], gap=0.64)
    _wire(d, dec, oy + 1.56, oy + 1.77)
    right = _stack(d, dec, oy + 2.1, 2, range(3), "decoder: causal")
    _wire(d, dec, oy + 2.43, oy + 2.59)
    _tokens(d, 0.45, oy + 2.75, t5["targets"], "output", gap=0.64)
    rail = left.right[0] + 0.18
    d.path([left.right, (rail, left.y), (rail, right.y), right.right], width=2.0, colour=KINDS["attention"][0])
    d.text(rail + 0.1, oy + 1.4, "$\\mathbf{z}$: the decoder\nsees every\nencoder position", ha="left",
           colour=MUTED)
    d.text(0.1, 0.14, f"{size}, {cfg['num_heads']} heads, pre-LN; ● a query; its arcs: what it sees", ha="left",
           colour=MUTED)
    return d


# ------------------------------------------------------------------------------------ Chapter 4


def word2vec(window: int = 2) -> Diagram:
    """CBOW (left) and skip-gram (right) over a window of ``window`` words on each side of w_t."""
    if window < 1:
        raise ValueError(f"window must be at least 1; got {window}")
    context = [f"$w_{{t{j:+d}}}$" for j in range(-window, window + 1) if j]
    d = Diagram("word2vec", 5.8, 0.9 + 0.5 * len(context))
    top = 0.55 + 0.5 * (len(context) - 1)
    ys = np.linspace(top, 0.55, len(context))
    mid = (top + 0.55) / 2
    d.text(1.45, top + 0.4, "CBOW", size=FONT, bold=True)
    d.text(4.35, top + 0.4, "skip-gram", size=FONT, bold=True)
    mean = d.box(1.55, mid, 0.8, 0.4, "mean", "operation")
    centre = d.box(2.55, mid, 0.6, 0.36, "$w_t$", "output")
    d.arrow(mean.right, centre.left)
    word = d.box(3.35, mid, 0.6, 0.36, "$w_t$", "embedding")
    for y, name in zip(ys, context, strict=True):
        source = d.box(0.45, y, 0.7, 0.36, name, "embedding")
        d.arrow(source.right, mean.left)
        target = d.box(5.35, y, 0.7, 0.36, name, "output")
        d.arrow(word.right, target.left)
    d.legend(0.2, ["embedding", "operation", "output"], x0=1.0)
    return d


# ---------------------------------------------------------------------------------- the introduction


def lineage(rows: Sequence[tuple[str, int, str]]) -> Diagram:
    """The book's lineage as one chain: per model (name, chapter, what it fixed), in the given order."""
    if not rows:
        raise ValueError("rows must name at least one model")
    kinds = {2: "operation", 3: "embedding", 4: "embedding", 5: "embedding", 6: "recurrent", 7: "recurrent"}
    step = 0.56
    d = Diagram("lineage", 5.6, 0.75 + step * len(rows))
    d.text(0.1, d.height - 0.25, "From counting to attention: what each model fixed",
           size=FONT, ha="left", bold=True)
    above = None
    for i, (model, chapter, fixed) in enumerate(rows):
        y = d.height - 0.75 - step * i
        d.text(0.1, y, f"Ch. {chapter}", ha="left", colour=MUTED, bold=True)
        made = d.box(1.6, y, 1.75, 0.4, model, kinds.get(chapter, "attention"), size=SMALL + 0.5)
        if above is not None:
            d.arrow(above.bottom, made.top)
        d.text(2.6, y, "\n".join(textwrap.wrap(fixed, 42)), ha="left")
        above = made
    return d
