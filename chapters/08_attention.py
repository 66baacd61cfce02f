# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Attention
#
# The encoder–decoder of sequence-to-sequence learning {cite:p}`sutskever2014` squeezes
# a whole source sentence into one vector, and the decoder has to unpack every word of
# the translation from it. Attention {cite:p}`bahdanau2015` removed that bottleneck: at
# every step the decoder *looks back* at all encoder states and takes what it needs.
# {doc}`07_seq2seq_attention` built it into a GRU translator and measured what it gains.
# This chapter isolates that one operation and asks: **what exactly does attention
# compute, why is it scaled by $\sqrt{d_k}$, and how do we stop it from looking where it
# must not?**
#
# Two ways of using the same operation run through the rest of the book. In
# *cross-attention*, "I look at others": the queries come from one sequence (the
# decoder) and the keys and values from another (the encoder), as in
# {doc}`07_seq2seq_attention`. In *self-attention*, "everyone looks at everyone":
# queries, keys and values all come from the same sequence. This chapter builds the
# operation; {doc}`09_self_attention` turns it into self-attention and multi-head
# attention, the core of the Transformer {cite:p}`vaswani2017`.

# %% tags=["remove-cell"]
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from n2t.book import glue

import n2t.plot
from n2t.attention import (
    MultiHeadAttention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)
from n2t.profile import current
from n2t.train import seed_everything

n2t.plot.use_book_style()
seed_everything(0)

# %% [markdown]
# The experiments take their sizes from the profile that `N2T_PROFILE` selects (see
# {doc}`../book/how_to_use`); this page was built with these settings:

# %%
cfg = current().settings("attention")
cfg

# %% [markdown]
# ## A soft dictionary look-up
#
# A Python dictionary maps keys to values: a query either equals a key and returns its
# value, or fails. Attention makes the look-up *soft*. A query $\mathbf{q}$ is compared
# with every key $\mathbf{k}_j$, giving a score $s_j$; a softmax turns the scores into
# weights $\alpha_j$ that are positive and sum to one; and the result is the weighted
# sum of the values $\mathbf{v}_j$:
#
# $$
# s_j = \mathbf{q} \cdot \mathbf{k}_j, \qquad
# \alpha_j = \frac{\exp(s_j)}{\sum_{j'} \exp(s_{j'})}, \qquad
# \text{output} = \sum_j \alpha_j \mathbf{v}_j .
# $$
#
# A key that matches the query well gets most of the weight; if one key matched
# infinitely better than the others, this would be the hard look-up again.
# Content-based addressing of this kind also drives the Neural Turing Machine's memory
# {cite:p}`graves2014`. Here are three keys and a query that resembles the second one:

# %%
keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
values = torch.tensor([[10.0], [20.0], [30.0]])
query = torch.tensor([0.2, 2.0])

scores = keys @ query  # one score per key
weights = scores.softmax(dim=0)  # positive, sum to one
output = weights @ values  # a weighted average of the values
scores, weights, output

# %% [markdown]
# The output lies between the values, closest to the value of the best-matching key.
# Everything in it is differentiable, so a network can *learn* what to ask for (the
# query) and what to advertise (the key).
#
# ## Scaled dot-product attention
#
# With many queries at once we stack them as the rows of matrices: $L_q$ queries make
# $\mathbf{Q}$ of shape $(L_q, d_k)$, $L_k$ keys make $\mathbf{K}$ of shape $(L_k, d_k)$
# and their values make $\mathbf{V}$ of shape $(L_k, d_v)$. All scores are one matrix
# product, $\mathbf{Q}\mathbf{K}^\top$ of shape $(L_q, L_k)$ — row $i$ holds query $i$'s
# score for every key — and the Transformer divides them by $\sqrt{d_k}$ before the
# softmax {cite:p}`vaswani2017`:
#
# $$
# \operatorname{Attention}(\mathbf{Q}, \mathbf{K}, \mathbf{V}) =
# \operatorname{softmax}\!\Big(\frac{\mathbf{Q}\mathbf{K}^\top}{\sqrt{d_k}}\Big)\,
# \mathbf{V},
# $$
#
# which maps inputs of shapes $(L_q, d_k)$, $(L_k, d_k)$ and $(L_k, d_v)$ to an output
# of shape $(L_q, d_v)$: one new vector per query. The softmax runs along each row, so
# every query gets its own weights over the $L_k$ keys. Dot-product scoring is the
# simplest of the scoring functions that {cite:t}`luong2015` compared; it needs no
# parameters and runs as one matrix product. Written by hand it is three lines:

# %%
def attention_by_hand(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d_k) v for q (L_q, d_k), k (L_k, d_k), v (L_k, d_v)."""
    scores = q @ k.T / math.sqrt(q.shape[-1])  # (L_q, L_k)
    weights = scores.softmax(dim=-1)  # each row sums to one
    return weights @ v, weights  # (L_q, d_v), (L_q, L_k)


# %% [markdown]
# ### A worked example: "machine learning"
#
# Take the two-token input "machine learning" with $d_k = 64$. Suppose the query of
# "machine" has dot product 112 with its own key and 96 with the key of "learning", and
# the query of "learning" the other way round: 96 with "machine", 112 with itself. We
# build vectors with exactly these dot products. Each one holds a number $a$ in its
# first 32 entries and $b$ in its last 32, so that two of them have dot product
# $32\,(a a' + b b')$; for example $32\,(1 \cdot 2 + 1 \cdot 1.5) = 112$.

# %%
d_k = 64


def two_blocks(a: float, b: float) -> torch.Tensor:
    """A vector of d_k entries: a in the first half, b in the second."""
    return torch.tensor([a] * (d_k // 2) + [b] * (d_k // 2))


# rows: "machine", "learning"
q_ml = torch.stack([two_blocks(1.0, 1.0), two_blocks(0.3, 1.6)])
k_ml = torch.stack([two_blocks(2.0, 1.5), two_blocks(1.0, 2.0)])
raw = q_ml @ k_ml.T  # (2 queries, 2 keys)
raw, raw / math.sqrt(d_k)

# %% [markdown]
# Each token also has a value vector — what it passes on when it is looked at. We give
# them three made-up features and let attention mix them:

# %%
v_ml = torch.tensor([[1.0, 0.0, 2.0],  # value of "machine"
                     [0.0, 3.0, 1.0]])  # value of "learning"
out_ml, w_ml = attention_by_hand(q_ml, k_ml, v_ml)
w_ml, out_ml

# %% [markdown]
# The assertions check the numbers by hand: the scores, their scaled versions, the
# weights, and each output row as the weighted sum of the two value vectors.

# %%
assert torch.allclose(raw, torch.tensor([[112.0, 96.0], [96.0, 112.0]]))
assert torch.allclose(raw / 8, torch.tensor([[14.0, 12.0], [12.0, 14.0]]))
seed_weights = torch.tensor([[0.88, 0.12], [0.12, 0.88]])
assert torch.allclose(w_ml, seed_weights, atol=0.005)
machine_row = w_ml[0, 0] * v_ml[0] + w_ml[0, 1] * v_ml[1]
learning_row = w_ml[1, 0] * v_ml[0] + w_ml[1, 1] * v_ml[1]
assert torch.allclose(out_ml, torch.stack([machine_row, learning_row]))
assert torch.allclose(out_ml[0], torch.tensor([0.88, 0.36, 1.88]), atol=0.01)

# %% tags=["remove-cell"]
glue("we_raw_1", raw[0, 0], display=False)
glue("we_raw_2", raw[0, 1], display=False)
glue("we_scaled_1", raw[0, 0] / math.sqrt(d_k), display=False)
glue("we_scaled_2", raw[0, 1] / math.sqrt(d_k), display=False)
glue("we_weight_1", w_ml[0, 0], display=False)
glue("we_weight_2", w_ml[0, 1], display=False)
glue("we_unscaled_weight_2", raw[0].softmax(0)[1], display=False)
glue("we_raw_gap", raw[0, 0] - raw[0, 1], display=False)
for i in range(3):
    glue(f"we_out_machine_{i}", out_ml[0, i], display=False)
    glue(f"we_out_learning_{i}", out_ml[1, i], display=False)

# %% [markdown]
# Dividing {glue:text}`we_raw_1:.0f` and {glue:text}`we_raw_2:.0f` by $\sqrt{64} = 8$
# gives {glue:text}`we_scaled_1:.0f` and {glue:text}`we_scaled_2:.0f`, and the softmax
# turns them into weights {glue:text}`we_weight_1:.2f` and {glue:text}`we_weight_2:.2f`:
# "machine" attends mostly to itself but keeps a share for "learning", and "learning"
# does the mirror image. The output of "machine" is therefore
# {glue:text}`we_weight_1:.2f` × (1, 0, 2) + {glue:text}`we_weight_2:.2f` × (0, 3, 1) =
# ({glue:text}`we_out_machine_0:.2f`, {glue:text}`we_out_machine_1:.2f`,
# {glue:text}`we_out_machine_2:.2f`): mostly its own value, with a little of the value
# of "learning". The output of "learning" is
# ({glue:text}`we_out_learning_0:.2f`, {glue:text}`we_out_learning_1:.2f`,
# {glue:text}`we_out_learning_2:.2f`). Each token's new vector is a blend of the values
# it attended to.
#
# Without the division, the gap of {glue:text}`we_raw_gap:.0f` between the raw scores
# would give "learning" a weight of only {glue:text}`we_unscaled_weight_2:.1e` in the
# row of "machine" — the softmax would be all but a hard look-up. The next section shows
# that this is not a quirk of the example.
#
# The library's version, `n2t.attention.scaled_dot_product_attention`, is the same
# computation, with a mask and dropout added (both explained below) and batch dimensions
# in front; its input checks live in a helper:
#
# ```{literalinclude} ../lib/n2t/attention.py
# :pyobject: scaled_dot_product_attention
# :caption: lib/n2t/attention.py
# ```
#
# It agrees with our three lines and with PyTorch's fused
# `F.scaled_dot_product_attention`:

# %%
q, k, v = torch.randn(5, 16), torch.randn(7, 16), torch.randn(7, 3)
ours, ours_weights = scaled_dot_product_attention(q, k, v)
by_hand, by_hand_weights = attention_by_hand(q, k, v)
assert torch.allclose(ours, by_hand, atol=1e-6)
assert torch.allclose(ours_weights, by_hand_weights, atol=1e-6)
assert torch.allclose(ours, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
ours.shape, ours_weights.shape

# %% [markdown]
# ## Why divide by $\sqrt{d_k}$?
#
# Suppose the entries of $\mathbf{q}$ and $\mathbf{k}$ are independent with mean 0 and
# variance 1, as they roughly are after a well-initialised projection. Then
# $\mathbf{q}\cdot\mathbf{k} = \sum_{i=1}^{d} q_i k_i$ is a sum of $d$ independent
# terms, each of mean 0 and variance $\mathbb{E}[q_i^2]\,\mathbb{E}[k_i^2] = 1$, so its
# variance is $d$ and its typical size is $\sqrt{d}$. Dividing by $\sqrt{d}$ brings the
# variance back to 1, whatever the width. We check the claim by sampling.

# %%
dims = cfg.dims
variance_raw, variance_scaled = [], []
for d in dims:
    q, k = torch.randn(cfg.samples, d), torch.randn(cfg.samples, d)
    dots = (q * k).sum(dim=-1)
    variance_raw.append(dots.var().item())
    variance_scaled.append((dots / math.sqrt(d)).var().item())

# %% mystnb={"figure": {"caption": "The variance of the dot product of two random vectors with unit-variance entries grows linearly with their width d (the dashed line is variance = d); divided by the square root of d it stays at 1.", "name": "fig-dot-variance"}, "image": {"alt": "Log-log plot of variance against width d from 4 to 1024. The unscaled dot product's variance rises along the dashed line variance = d; the scaled one stays flat at 1."}}
ax = n2t.plot.curves(
    {"q·k": (dims, variance_raw), "q·k / √d": (dims, variance_scaled)},
    xlabel="width d of queries and keys",
    ylabel="variance over random draws",
    logx=True,
    logy=True,
)
ax.plot(dims, dims, "k--", linewidth=0.8, label="d")
ax.legend()
plt.show()

# %% tags=["hide-input"]
ratios = np.array(variance_raw) / np.array(dims)
assert np.all(np.abs(ratios - 1) < 0.15), ratios  # variance of q·k ≈ d
# variance of q·k/√d ≈ 1
assert np.all(np.abs(np.array(variance_scaled) - 1) < 0.15)

# %% tags=["remove-cell"]
glue("var_d_max", dims[-1], display=False)
glue("var_raw_max", variance_raw[-1], display=False)
glue("var_scaled_max", variance_scaled[-1], display=False)
glue("num_keys", cfg.num_keys, display=False)
glue("uniform_weight", 1 / cfg.num_keys, display=False)

# %% [markdown]
# At $d =$ {glue:text}`var_d_max` the raw dot products have variance
# {glue:text}`var_raw_max:,.0f`; scaled, {glue:text}`var_scaled_max:.2f`. Why do large
# scores hurt? Because the softmax *saturates*: when one score is larger than the others
# by tens of units, its weight is indistinguishable from 1 and the others from 0. We
# give each query {glue:text}`num_keys` random keys and record the largest weight, with
# and without the scaling; with equal scores every weight would be
# 1/{glue:text}`num_keys` = {glue:text}`uniform_weight:.1f`.

# %%
def softmax_experiment(d: int, scaled: bool) -> tuple[float, float]:
    """Mean largest weight, median gradient norm at the scores; width d."""
    q = torch.randn(cfg.softmax_samples, 1, d)
    keys = torch.randn(cfg.softmax_samples, cfg.num_keys, d)
    logits = (q * keys).sum(-1)  # (samples, keys)
    if scaled:
        logits = logits / math.sqrt(d)
    logits.requires_grad_(True)
    weights = logits.softmax(dim=-1)
    upstream = torch.randn_like(weights)  # a gradient from the layers above
    (weights * upstream).sum().backward()
    largest = weights.max(-1).values.mean().item()
    return largest, logits.grad.norm(dim=-1).median().item()


# %%
results = {}
for scaled in (False, True):
    results[scaled] = [softmax_experiment(d, scaled) for d in dims]
max_weight = {scaled: [r[0] for r in rows] for scaled, rows in results.items()}
grad_norm = {scaled: [r[1] for r in rows] for scaled, rows in results.items()}

# %% mystnb={"figure": {"caption": "Left: the largest softmax weight of a query over random keys, averaged over queries; the dotted line is the uniform weight $1/L_k$. Unscaled scores drive the largest weight to 1 (a hard, one-hot choice) as d grows; scaled scores keep it flat. Right: the norm of the gradient that flows back through the softmax to the scores (median over queries, log scale): unscaled, it vanishes.", "name": "fig-saturation"}, "image": {"alt": "Two panels against width d on a log axis. Left: the unscaled curve of the largest weight climbs towards 1 while the scaled curve stays flat, above a dotted horizontal line labelled uniform 1/L_k. Right: the unscaled gradient norm falls by orders of magnitude while the scaled one stays level."}}
fig, (ax_w, ax_g) = plt.subplots(1, 2, figsize=(9.0, 3.4))
labels = {False: "unscaled q·k", True: "scaled q·k/√d"}
n2t.plot.curves(
    {labels[s]: (dims, max_weight[s]) for s in (False, True)},
    xlabel="width d", ylabel="largest softmax weight", logx=True, ax=ax_w,
)
ax_w.axhline(1 / cfg.num_keys, color="grey", linestyle=":", linewidth=1.0,
             label=f"uniform: $1/L_k$ = 1/{cfg.num_keys}")
ax_w.set_ylim(0, 1.05)
ax_w.legend()
n2t.plot.curves(
    {labels[s]: (dims, grad_norm[s]) for s in (False, True)},
    xlabel="width d", ylabel="gradient norm at the scores",
    logx=True, logy=True, ax=ax_g,
)
plt.show()

# %% tags=["hide-input"]
# Unscaled: nearly one-hot at the largest width; scaled: flat across widths.
assert max_weight[False][-1] > 0.9 > max_weight[True][-1]
assert max(max_weight[True]) - min(max_weight[True]) < 0.1
# Unscaled: the gradient vanishes as d grows; scaled: it does not.
assert grad_norm[False][-1] < grad_norm[False][0] / 100
assert max(grad_norm[True]) < 1.5 * min(grad_norm[True])

# %% tags=["remove-cell"]
glue("sat_d_min", dims[0], display=False)
glue("sat_unscaled_max_weight", max_weight[False][-1], display=False)
glue("sat_scaled_max_weight", max_weight[True][-1], display=False)
glue("grad_unscaled_first", grad_norm[False][0], display=False)
glue("grad_unscaled_last", grad_norm[False][-1], display=False)
glue("grad_scaled_last", grad_norm[True][-1], display=False)
glue("grad_drop", grad_norm[False][0] / grad_norm[False][-1], display=False)

# %% [markdown]
# At $d =$ {glue:text}`var_d_max` the unscaled softmax puts on average
# {glue:text}`sat_unscaled_max_weight:.3f` of the weight on one key; scaled,
# {glue:text}`sat_scaled_max_weight:.2f`. The gradient tells the same story from the
# learner's side. The softmax Jacobian is $\operatorname{diag}(\boldsymbol\alpha) -
# \boldsymbol\alpha\boldsymbol\alpha^\top$, which is nearly zero when
# $\boldsymbol\alpha$ is nearly one-hot, so almost no gradient reaches the scores — and
# through them the queries and keys. Unscaled, the typical (median) gradient norm falls
# from {glue:text}`grad_unscaled_first:.3f` at $d =$ {glue:text}`sat_d_min` to
# {glue:text}`grad_unscaled_last:.1e` at $d =$ {glue:text}`var_d_max`, a factor of
# {glue:text}`grad_drop:.1e`; scaled, it stays near {glue:text}`grad_scaled_last:.2f`.
# An attention layer that cannot receive gradient cannot learn where to look.
#
# ### The same effect, moved into the initialisation
#
# Dividing by $\sqrt{d_k}$ is not the only cure. T5 {cite:p}`raffel2020` drops the
# division; its code, written with Mesh TensorFlow {cite:p}`shazeer2018` (and the port
# to Hugging Face's library {cite:p}`wolf2020`, whose initialisation says "to avoid
# scaling before softmax"), instead initialises the query projection $\mathbf{W}_Q$ with
# a standard deviation $\sqrt{d_k}$ times smaller. Since the scores are linear in
# $\mathbf{W}_Q$, both choices give scores of the same distribution at the start of
# training. We draw token vectors $\mathbf{X}$ and fresh projections for many heads
# three ways: the usual initialisation without any correction, the same divided by
# $\sqrt{d_k}$, and T5's.

# %%
d_model, d_head, tokens, heads = 64, 64, 128, 32
x = torch.randn(heads, tokens, d_model)
std = d_model**-0.5  # the usual init: q and k entries of variance about 1


def init_scores(q_std: float, divide: bool) -> torch.Tensor:
    """Scores (heads, tokens, tokens) of fresh W_Q (std q_std) and W_K."""
    w_q = torch.randn(heads, d_model, d_head) * q_std
    w_k = torch.randn(heads, d_model, d_head) * std
    scores = (x @ w_q) @ (x @ w_k).transpose(1, 2)
    return scores / math.sqrt(d_head) if divide else scores


scores_raw = init_scores(std, divide=False)  # neither correction
scores_scaled = init_scores(std, divide=True)  # the Transformer: divide
scores_t5 = init_scores(std / math.sqrt(d_head), divide=False)  # T5: smaller W_Q
scores_raw.std().item(), scores_scaled.std().item(), scores_t5.std().item()

# %% mystnb={"figure": {"caption": "Distribution of attention scores at initialisation (d_k = 64). With neither correction the scores spread about √d_k = 8 times wider. Dividing q·k by √d_k (as in the Transformer) and initialising W_Q √d_k times smaller without dividing (as in T5) give the same narrow distribution.", "name": "fig-t5-init"}, "image": {"alt": "Histograms of attention scores. A wide, flat histogram for the uncorrected scores spans roughly minus 25 to 25; two narrow histograms, for dividing by the square root of d_k and for T5's smaller initialisation, lie on top of each other around zero."}}
fig, ax = plt.subplots()
bins = np.linspace(-30, 30, 121)
for scores, label, style in (
    (scores_raw, "q·k, no correction", {"alpha": 0.5}),
    (scores_scaled, "q·k / √d_k", {"alpha": 0.5}),
    (scores_t5, "T5: W_Q scaled at init", {"histtype": "step", "linewidth": 1.5}),
):
    values = scores.flatten().numpy()
    ax.hist(values, bins=bins, density=True, label=label, **style)
ax.set(xlabel="attention score", ylabel="density")
ax.legend()
plt.show()

# %% tags=["hide-input"]
assert abs(scores_scaled.std() / scores_t5.std() - 1) < 0.1
assert abs(scores_scaled.std() - 1) < 0.15
assert abs(scores_raw.std() / scores_scaled.std() / math.sqrt(d_head) - 1) < 0.1

# %% tags=["remove-cell"]
glue("t5_std_raw", scores_raw.std(), display=False)
glue("t5_std_scaled", scores_scaled.std(), display=False)
glue("t5_std_t5", scores_t5.std(), display=False)

# %% [markdown]
# Uncorrected, the scores have standard deviation {glue:text}`t5_std_raw:.1f`; both
# corrections bring it close to 1 ({glue:text}`t5_std_scaled:.2f` and
# {glue:text}`t5_std_t5:.2f`). What differs is only where the constant lives and
# therefore how the optimiser's step sizes interact with it; the book follows the
# Transformer and divides.
#
# ## A numerically stable softmax
#
# The softmax exponentiates its inputs, and `exp` overflows a 32-bit float above about
# 88. Scores of a few hundred are not unusual before scaling, so a literal
# implementation fails:

# %%
big_scores = torch.tensor([1000.0, 998.0, 990.0])


def naive_softmax(s: torch.Tensor) -> torch.Tensor:
    """exp(s) / Σ exp(s), literally."""
    return s.exp() / s.exp().sum()


def stable_softmax(s: torch.Tensor) -> torch.Tensor:
    """The same function, computed after subtracting the largest score."""
    shifted = s - s.max()  # the largest exponent is now exp(0) = 1
    return shifted.exp() / shifted.exp().sum()


naive_softmax(big_scores), stable_softmax(big_scores)

# %% [markdown]
# Subtracting a constant $c$ from every score multiplies numerator and denominator by
# $e^{-c}$, so the softmax is unchanged; with $c = \max_j s_j$ every exponent is at most
# 0 and nothing overflows. `torch.softmax` does this internally. (Fused attention
# kernels go one step further and keep a *running* maximum while they stream over blocks
# of keys, the "online softmax" of {cite:t}`milakov2018`.)

# %% tags=["hide-input"]
assert torch.isnan(naive_softmax(big_scores)).all()
assert torch.allclose(stable_softmax(big_scores), big_scores.softmax(0))
shifted_back = stable_softmax(big_scores - 1000)
assert torch.allclose(shifted_back, stable_softmax(big_scores))  # shift-invariant

# %% [markdown]
# ## Masks: who may attend to whom
#
# Two situations require that some query must *not* see some key.
#
# - **Padding.** A batch holds sentences of different lengths, padded to the longest.
#   Padding positions are not words, and no query should take information from them.
# - **Causality.** A language model that predicts token $t+1$ from tokens $1..t$ must
#   not peek at the future: query $i$ may only look at keys $j \le i$.
#
# The library expresses both as a boolean *mask* with **one convention: `True` means
# "may attend"**. A masked-out score is replaced by $-\infty$ before the softmax, so its
# weight is exactly $e^{-\infty} = 0$. `padding_mask` builds on
# `n2t.text.lengths_to_mask` and returns shape $(B, 1, 1, L_k)$, ready to broadcast over
# heads and queries; `causal_mask` is lower-triangular.

# %%
sentences = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["dogs", "bark"],
    ["attention", "is", "all"],
]
lengths = torch.tensor([len(s) for s in sentences])
max_len = int(lengths.max())
keep_keys = padding_mask(lengths, max_len)  # (batch, 1, 1, max_len)
future = causal_mask(max_len)  # (max_len, max_len)
keep_keys.shape, future.shape

# %% mystnb={"figure": {"caption": "Masks for the sentence 'attention is all', padded to six positions (dark = True = may attend). Left: the padding mask hides the padding keys from every query. Middle: the causal mask lets query i see keys 0..i. Right: a causal language model over a padded batch uses both.", "name": "fig-masks"}, "image": {"alt": "Three six-by-six grids of queries against keys for 'attention is all' and three pad tokens. Padding: the first three columns are dark in every row. Causal: the lower triangle including the diagonal is dark. Both: only the lower triangle within the first three columns is dark."}}
labels = [*sentences[2], *["<pad>"] * (max_len - len(sentences[2]))]
both = keep_keys & future  # broadcasts to (batch, 1, max_len, max_len)
panels = {
    "padding": keep_keys[2, 0].expand(max_len, -1),
    "causal": future,
    "padding & causal": both[2, 0],
}
fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.4))
for ax, (title, mask) in zip(axes, panels.items(), strict=True):
    n2t.plot.heatmap(mask.int(), xlabels=labels, ylabels=labels, xlabel="key",
                     ylabel="query", title=title, cmap="Blues", vmin=0, vmax=1,
                     colorbar=False, ax=ax)
    ax.tick_params(axis="x", labelrotation=90)
plt.show()

# %% [markdown]
# Applied to attention, the masked positions get exactly zero weight and each row still
# sums to one. `both` has the multi-head layer's shape $(B, 1, L_q, L_k)$, with an axis
# for the heads; the function of this chapter has no heads and takes
# $(B, L_q, L_k)$, so we drop that axis with `both[:, 0]`:

# %%
batch = len(sentences)
q, k, v = (torch.randn(batch, max_len, 8) for _ in range(3))
_, masked_weights = scaled_dot_product_attention(q, k, v, mask=both[:, 0])
masked_weights[2].round(decimals=2)

# %% tags=["hide-input"]
hidden = ~both[:, 0].expand_as(masked_weights)
assert (masked_weights[hidden] == 0).all()
assert torch.allclose(masked_weights.sum(-1), torch.ones(batch, max_len))

# %% [markdown]
# A mask hides *keys*, not queries: the three `<pad>` rows of the last sentence still
# attend to its real words and produce outputs. Nobody looks *at* padding, and the
# outputs *at* padding positions exist but are ignored, as the loss ignores their
# targets (`ignore_index`). The exception is a query that may see no key at all, next.

# %% [markdown]
# PyTorch's `nn.MultiheadAttention` uses the **opposite** convention for its `attn_mask`
# and `key_padding_mask` (`True` = *may not* attend), while
# `F.scaled_dot_product_attention` uses ours. When you hand one of our masks to the
# former, invert it with `~mask`; {doc}`09_self_attention` does exactly that.
#
# ### A query that may attend to nothing
#
# Sometimes a whole row of the mask is `False`. It happens with *left* padding under a
# causal mask: the sequence "`<pad> <pad> dogs bark`" puts its padding first, and the
# first two queries may only look at keys $0..i$, all of which are padding. The literal
# recipe — fill with $-\infty$, then softmax — computes
# $e^{-\infty} / \sum e^{-\infty} = 0/0$:

# %%
left_padded = torch.tensor([False, False, True, True])  # True = real token
row_mask = left_padded[None, :] & causal_mask(4)  # (4 queries, 4 keys)
q, k = torch.randn(4, 8, requires_grad=True), torch.randn(4, 8)
naive_scores = (q @ k.T / math.sqrt(8)).masked_fill(~row_mask, float("-inf"))
naive_weights = naive_scores.softmax(dim=-1)
naive_weights

# %% [markdown]
# The NaN does not stay put: the output of these queries is NaN, every layer above mixes
# it into other positions, and one backward pass turns every gradient it touches into
# NaN. The library's **policy** is that a query which may attend to nothing gets
# *all-zero weights and a zero output*, in the forward and the backward pass: it takes
# no information, and no information flows back through it. (Internally, such a row is
# temporarily allowed to see everything, which keeps the softmax finite, and its weights
# are then set to zero.)

# %%
v = torch.randn(4, 3)
out, safe_weights = scaled_dot_product_attention(q, k, v, mask=row_mask)
out.sum().backward()
safe_weights.round(decimals=2), out.round(decimals=2)

# %%
assert torch.equal(safe_weights[:2], torch.zeros(2, 4))  # no weights ...
assert torch.equal(out[:2], torch.zeros(2, 3))  # ... a zero output ...
assert torch.equal(q.grad[:2], torch.zeros(2, 8))  # ... no gradient, not NaN

# %% tags=["hide-input"]
assert torch.isnan(naive_weights[:2]).all()
assert not torch.isnan(naive_weights[2:]).any()
assert torch.isfinite(q.grad).all()
assert torch.allclose(safe_weights[2:], naive_weights[2:])  # other rows unchanged

# %% [markdown]
# Why zero rather than, say, uniform weights over the padding? A uniform average of
# padding vectors is arbitrary information that depends on what the padding embedding
# happens to be; zero is the honest answer to "what did you see?" when the answer is
# "nothing".
#
# The multi-head layer of {doc}`09_self_attention`, `MultiHeadAttention`, keeps the same
# promise for its *final* output. That takes one more step: after the heads are
# concatenated, its output projection adds a bias, which would turn a zero row into a
# copy of that bias. The layer therefore zeroes the output row of a query that sees no
# key in any head (a query that is blind in only some heads just gets zeros from those
# heads). Here is the same left-padded sequence through a layer with random biases:

# %%
layer = MultiHeadAttention(embed_dim=8, num_heads=2)
with torch.no_grad():
    layer.out_proj.bias.normal_()  # make the bias visible
    tokens = torch.randn(1, 4, 8)  # (batch, L, embed_dim)
    keep = left_padded[None, None, None, :]  # the layer's mask: (B, heads, L_q, L_k)
    layer_out, _ = layer(tokens, tokens, tokens, mask=keep, is_causal=True)
layer_out[0].round(decimals=2)

# %%
assert torch.equal(layer_out[0, :2], torch.zeros(2, 8))  # not out_proj.bias

# %% [markdown]
# `tests/test_attention.py` checks this on both of the layer's code paths, with and
# without a causal mask, in the backward pass too.
#
# ## Dropout on the attention weights
#
# Dropout {cite:p}`srivastava2014` fights over-fitting by zeroing random activations
# during training. Applied to attention, it zeroes random *weights* after the softmax:
# each $\alpha_{ij}$ is set to 0 with probability $p$ (`dropout_p`), and the survivors
# are divided by $1 - p$, so that every weight keeps its expected value. A query then
# has to do without some of the keys it would have looked at, a different random subset
# at every step, which discourages it from relying on any single one. The
# `dropout` argument of PyTorch's `nn.MultiheadAttention` does the same.
#
# One query over six keys, with and without dropout at $p = 0.5$:

# %%
q, k, v = torch.randn(1, 8), torch.randn(6, 8), torch.randn(6, 3)
_, clean_weights = scaled_dot_product_attention(q, k, v)
dropped = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
dropped_out, dropped_weights = dropped
clean_weights.round(decimals=3), dropped_weights.round(decimals=3)

# %% [markdown]
# Each weight is either gone or doubled. The function returns the *dropped* weights —
# the ones that actually multiplied $\mathbf{V}$ — so a row no longer sums to one, and
# the output is exactly their weighted sum of the values. On average over many draws the
# dropped weights come back to the clean ones:

# %%
draws = 10_000
q_many = q.expand(draws, 1, 8)  # the same query, drawn again and again
k_many, v_many = k.expand(draws, 6, 8), v.expand(draws, 6, 3)
_, many_weights = scaled_dot_product_attention(q_many, k_many, v_many,
                                               dropout_p=0.5)
many_weights.mean(dim=0).round(decimals=3)

# %%
survived = dropped_weights != 0
assert torch.allclose(dropped_weights[survived], 2 * clean_weights[survived])
assert torch.allclose(dropped_out, dropped_weights @ v)
assert torch.allclose(many_weights.mean(dim=0), clean_weights, atol=0.02)

# %% [markdown]
# Dropout belongs to training only. `scaled_dot_product_attention` is a plain function
# and does what `dropout_p` says, so the caller passes `dropout_p=0` at evaluation;
# `MultiHeadAttention(…, dropout=p)` does that itself, dropping weights in training mode
# (`layer.train()`) and never in evaluation mode (`layer.eval()`):

# %%
dropping = MultiHeadAttention(embed_dim=8, num_heads=2, dropout=0.5)
tokens = torch.randn(1, 4, 8)
row_sums = {}
for mode in ("train", "eval"):
    getattr(dropping, mode)()  # dropping.train() or dropping.eval()
    with torch.no_grad():
        _, mode_weights = dropping(tokens, tokens, tokens, need_weights=True)
    row_sums[mode] = mode_weights.sum(dim=-1)  # (batch, heads, L_q)
row_sums

# %% tags=["hide-input"]
assert not torch.allclose(row_sums["train"], torch.ones(1, 2, 4))
assert torch.allclose(row_sums["eval"], torch.ones(1, 2, 4))

# %% tags=["remove-cell"]
glue("dropout_draws", draws, display=False)
mean_error = (many_weights.mean(dim=0) - clean_weights).abs().max()
glue("dropout_mean_error", mean_error, display=False)

# %% [markdown]
# Over {glue:text}`dropout_draws:,` draws the mean of the dropped weights differs from
# the clean weights by at most {glue:text}`dropout_mean_error:.3f`. In training mode a
# row of the returned weights sums to whatever the dropout left of it (one, on average);
# in evaluation mode every row sums to one, and the layer is deterministic.
#
# ## What attention alone cannot do
#
# We now have the look-up, its scaling, its masks and its dropout. But in this chapter
# the queries, keys and values were given to us. In the seq2seq model of
# {doc}`07_seq2seq_attention` they come from a decoder and an encoder that are still
# recurrent, and so still process one token at a time. {doc}`09_self_attention` lets a
# sequence attend to *itself*, with learned projections for queries, keys and values and
# several heads side by side — and then measures what is gained by dropping the
# recurrence altogether.
#
# ## Exercises
#
# 1. **Additive attention.** {cite:t}`bahdanau2015` scored with a small network,
#    $s_j = \mathbf{w}^\top \tanh(\mathbf{W}\mathbf{q} + \mathbf{U}\mathbf{k}_j)$.
#    Implement it for $\mathbf{Q}$ $(L_q, d_k)$ and $\mathbf{K}$ $(L_k, d_k)$ without a
#    Python loop, and compare with `n2t.seq2seq.AdditiveAttention`, the one
#    {doc}`07_seq2seq_attention` trains. How many parameters and floating-point
#    operations does it need compared with the dot product?
# 2. **Variance in general.** If the entries of $\mathbf{q}$ have variance $\sigma_q^2$
#    and those of $\mathbf{k}$ variance $\sigma_k^2$, what is the variance of
#    $\mathbf{q}\cdot\mathbf{k}/\sqrt{d}$? Check your answer by changing the sampling
#    cell.
# 3. **Temperature.** Replace $\sqrt{d_k}$ with a temperature $\tau$. Plot the largest
#    weight of the worked example as $\tau$ goes from 0.1 to 100. What are the limits as
#    $\tau \to 0$ and $\tau \to \infty$?
# 4. **A prefix mask.** Some models let the first $p$ tokens (a prompt) see each other
#    freely and the rest see only the past. Build this mask from `causal_mask` and check
#    it with a picture like the one above.
# 5. **Another policy.** Change a copy of `scaled_dot_product_attention` so that a fully
#    masked query gets uniform weights instead of zeros. Show a small example in which
#    the output of a padded batch then depends on the value stored at a padding
#    position.
# 6. **Dropout and the sum.** With $p = 0.5$ and $L_k$ keys of equal weight, what is the
#    distribution of the sum of a query's dropped weights? Check it by sampling.
