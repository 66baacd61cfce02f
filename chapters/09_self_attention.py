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
# # Self-attention and multi-head attention
#
# In {doc}`08_attention` a decoder looked at an encoder: "I look at others". The encoder
# and the decoder themselves were still recurrent networks that read one token after
# another. The Transformer {cite:p}`vaswani2017` asks: **what if every position of a
# sequence looks at every other position of the same sequence, and we drop the
# recurrence?** This chapter builds that *self-attention*, finds the one thing it cannot
# see (word order), splits it into several *heads* that look for different things,
# checks our implementation against PyTorch's, watches two heads learn different jobs,
# and measures what is gained and lost against an LSTM.

# %% tags=["remove-cell"]
import math
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from n2t.book import Text, glue
from torch import nn

import n2t.plot
from n2t.attention import MultiHeadAttention, causal_mask, padding_mask
from n2t.profile import current
from n2t.train import count_parameters, fit, seed_everything

n2t.plot.use_book_style()
seed_everything(0)

# %% [markdown]
# The experiments take their sizes from the profile that `N2T_PROFILE` selects (see
# {doc}`../book/how_to_use`); this page was built with these settings:

# %%
cfg = current().settings("self_attention")
cfg

# %% [markdown]
# ## Self-attention: queries, keys and values from one sequence
#
# Stack the $n$ token vectors of a sentence as the rows of $\mathbf{X}$, shape $(n, d)$.
# (This chapter writes $n$ for the length of a sequence, as {cite:t}`vaswani2017` do;
# elsewhere the book writes $L$, and in {doc}`02_ngram_models` $n$ was the order of an
# n-gram.) Self-attention derives all three roles from it with three learned matrices:
#
# $$
# \mathbf{Q} = \mathbf{X}\mathbf{W}_Q, \quad \mathbf{K} = \mathbf{X}\mathbf{W}_K, \quad
# \mathbf{V} = \mathbf{X}\mathbf{W}_V,
# $$
#
# $$
# \operatorname{SelfAttention}(\mathbf{X}) =
# \operatorname{softmax}\!\Big(\frac{\mathbf{Q}\mathbf{K}^\top}{\sqrt{d_k}}\Big)
# \mathbf{V}.
# $$
#
# The same token plays three parts: as a query it asks "what am I looking for?", as a
# key it advertises "what do I contain?", as a value it says "what do I pass on if
# chosen?". There are as many queries as keys, $L_q = L_k = n$, so the score matrix is
# $n \times n$: one row per token, one column per token it may look at. Here it is for a
# six-word sentence with random embeddings.

# %%
sentence = ["the", "road", "is", "blocked", "by", "snow"]
d = 16
embeddings = {word: torch.randn(d) for word in sentence}
x = torch.stack([embeddings[word] for word in sentence])  # (n, d)
w_q, w_k, w_v = (torch.randn(d, d) / math.sqrt(d) for _ in range(3))

q, k, v = x @ w_q, x @ w_k, x @ w_v  # (n, d) each
scores = q @ k.T / math.sqrt(d)  # (n, n): every token scores every token
weights = scores.softmax(dim=-1)
self_attended = weights @ v  # (n, d): a new vector per token
scores.shape, self_attended.shape

# %% mystnb={"figure": {"caption": "Self-attention weights of a randomly initialised layer on a six-word sentence: row i is how much token i takes from each token (each row sums to one).", "name": "fig-self-attention-weights"}, "image": {"alt": "A six-by-six heat map with the words of 'the road is blocked by snow' on both axes, queries down the side and keys along the top, each cell annotated with its weight; the weights are spread unevenly with no clear pattern."}}
n2t.plot.heatmap(weights, xlabels=sentence, ylabels=sentence,
                 xlabel="key (looked at)", ylabel="query (looking)",
                 annotate=True, vmin=0, vmax=1)
plt.show()

# %% [markdown]
# The library computes the same thing with `MultiHeadAttention` with a single head. Its
# projections are `nn.Linear` layers, which multiply by the *transpose* of their weight,
# so we copy $\mathbf{W}^\top$ into them, and make the final output projection the
# identity:

# %%
one_head = MultiHeadAttention(d, num_heads=1, bias=False)
with torch.no_grad():
    one_head.q_proj.weight.copy_(w_q.T)
    one_head.k_proj.weight.copy_(w_k.T)
    one_head.v_proj.weight.copy_(w_v.T)
    one_head.out_proj.weight.copy_(torch.eye(d))
    x1 = x[None]  # a batch of one: (1, n, d)
    library_out, library_weights = one_head(x1, x1, x1, need_weights=True)
assert torch.allclose(library_out[0], self_attended, atol=1e-5)
assert torch.allclose(library_weights[0, 0], weights, atol=1e-6)


# %% [markdown]
# ## Self-attention does not see word order
#
# Nothing in the formula refers to positions. Shuffle the rows of $\mathbf{X}$ and the
# rows of $\mathbf{Q}$, $\mathbf{K}$, $\mathbf{V}$ are shuffled the same way; the score
# matrix has its rows *and* columns permuted; and each output row is the same as before,
# just in its new place. In symbols, for a permutation matrix $\mathbf{P}$,
# $\operatorname{SelfAttention}(\mathbf{P}\mathbf{X}) =
# \mathbf{P}\,\operatorname{SelfAttention}(\mathbf{X})$.

# %%
def self_attend(words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The one-head layer on a list of words: outputs (n, d), weights (n, n)."""
    tokens = torch.stack([embeddings[word] for word in words])[None]  # (1, n, d)
    with torch.no_grad():
        out, head_weights = one_head(tokens, tokens, tokens, need_weights=True)
    return out[0], head_weights[0, 0]


shuffled = ["snow", "the", "blocked", "road", "by", "is"]
order = torch.tensor([sentence.index(word) for word in shuffled])  # origins
out_shuffled, weights_shuffled = self_attend(shuffled)
# The outputs are permuted like the inputs; the weights in both directions:
assert torch.allclose(out_shuffled, self_attended[order], atol=1e-5)
assert torch.allclose(weights_shuffled, weights[order][:, order], atol=1e-6)

# %% mystnb={"figure": {"caption": "The same layer on the sentence and on a shuffled version. The weights are the same numbers, rearranged: each word attends to each other word exactly as before, wherever it stands.", "name": "fig-order-blind"}, "image": {"alt": "Two annotated six-by-six heat maps side by side, the original sentence on the left and the shuffled words on the right; the same numbers appear in both, with rows and columns reordered."}}
fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(10.0, 4.0))
for ax, words, matrix, title in (
    (ax_a, sentence, weights, "original"),
    (ax_b, shuffled, weights_shuffled, "shuffled"),
):
    n2t.plot.heatmap(matrix, xlabels=words, ylabels=words, xlabel="key",
                     ylabel="query", title=title, vmin=0, vmax=1,
                     colorbar=False, annotate=True, ax=ax)
plt.show()

# %% [markdown]
# So the vector that self-attention computes for "road" is identical in "the road is
# blocked by snow" and in the word salad — and equally identical in "the snow is blocked
# by road", which means something else entirely:

# %%
swapped = ["the", "snow", "is", "blocked", "by", "road"]
out_swapped, _ = self_attend(swapped)
road_in_swapped = out_swapped[swapped.index("road")]
road_in_sentence = self_attended[sentence.index("road")]
road_difference = (road_in_swapped - road_in_sentence).abs().max()

# %% tags=["hide-input"]
assert road_difference < 1e-5

# %% tags=["remove-cell"]
glue("road_difference", road_difference, display=False)

# %% [markdown]
# The largest difference between the two vectors for "road" is
# {glue:text}`road_difference:.1e`, rounding error. A recurrent network reads left to
# right and cannot help knowing the order; self-attention sees a *bag* of tokens. The
# Transformer therefore adds information about each position to the token vectors before
# the first layer — *positional encodings*, the subject of {doc}`10_transformer`. A
# causal mask breaks the symmetry only partly: in one layer each token sees *which*
# tokens precede it — as a set — but not in what order they came. The set's size is
# already a clue to the position, though (a uniform average over $i$ tokens gives each
# the weight $1/i$), and in a stack of causal layers each layer reads vectors that
# summarise different prefixes, so order becomes recoverable: decoder-only language
# models trained without positional encodings still learn where their tokens are
# {cite:p}`haviv2022`. A layer that sees the whole sequence, like an encoder's, stays
# blind.
#
# ## Multi-head attention
#
# One attention distribution per token is one question per token: a single head must
# average together everything it looks at. But a word has several relations at once —
# "blocked" needs its subject "road" and its cause "snow". Multi-head attention runs $h$
# attentions side by side, each in its own smaller subspace, and concatenates the
# results:
#
# $$
# \operatorname{head}_i = \operatorname{Attention}(\mathbf{X}\mathbf{W}_Q^{(i)},
# \mathbf{X}\mathbf{W}_K^{(i)}, \mathbf{X}\mathbf{W}_V^{(i)}),
# $$
#
# $$
# \operatorname{MultiHead}(\mathbf{X}) =
# [\operatorname{head}_1; \dots; \operatorname{head}_h]\,\mathbf{W}_O,
# $$
#
# with each $\mathbf{W}^{(i)}$ of shape $(d, d/h)$ and $\mathbf{W}_O$ of shape $(d, d)$.
# In practice the $h$ projections are one $(d, d)$ matrix whose output is *split* into
# $h$ slices of size $d/h$, so the heads cost no more parameters or arithmetic than one
# head of full width. {numref}`fig-multi-head-diagram` follows the shapes through the
# layer.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Multi-head attention, with the shape of the tensor after each step ($B$ sentences, $L_q$ queries, $L_k$ keys, width $D = d$, $H = h$ heads; $L$ is $L_q$ for the queries and $L_k$ for the keys and values). Each input is projected by its own $d \\times d$ matrix and split into $h$ heads of width $d/h$; each head attends on its own; the heads are concatenated back to width $d$ and mixed by $\\mathbf{W}_O$. The numbers are those of the Transformer of the next chapter.", "name": "fig-multi-head-diagram"}, "image": {"alt": "A diagram drawn from bottom to top. Three white input boxes, query (B, L_q, D), key and value (B, L_k, D), each go through an orange projection W_Q, W_K or W_V of size d by d; a grey bar splits each into H heads of width D/H, shape (B, H, L, D/H); a stack of orange cards, one per head, each computes softmax(Q_i K_i transposed over the square root of d/h) V_i; a grey bar concatenates the heads back to (B, L_q, D); an orange box W_O of size d by d gives the output (B, L_q, D). A note gives D, H and D/H of the next chapter's Transformer."}}
import n2t.diagrams

n2t.diagrams.multi_head_attention()

# %% [markdown]
# By hand, for $h = 4$:

# %%
num_heads = 4
head_dim = d // num_heads
w_o = torch.randn(d, d) / math.sqrt(d)


def split_heads(t: torch.Tensor) -> torch.Tensor:
    """(n, d) → (heads, n, d / heads): one block of features per head."""
    return t.view(t.shape[0], num_heads, head_dim).transpose(0, 1)


q_heads, k_heads, v_heads = (split_heads(x @ w) for w in (w_q, w_k, w_v))
head_scores = q_heads @ k_heads.transpose(1, 2) / math.sqrt(head_dim)
head_weights = head_scores.softmax(dim=-1)  # (heads, n, n)
heads = head_weights @ v_heads  # (heads, n, head_dim): each head on its own
concatenated = heads.transpose(0, 1).reshape(len(sentence), d)  # (n, d)
multi_head_out = concatenated @ w_o
q_heads.shape, head_weights.shape, multi_head_out.shape

# %% [markdown]
# Note the scaling: each head divides by $\sqrt{d/h}$, the width of *its* queries and
# keys. The library's `MultiHeadAttention.forward` does exactly these steps, batched:
# it projects the queries, keys and values and splits them into heads (while decoding,
# keys and values may come from a cache, as {doc}`10_transformer` explains):
#
# ```{literalinclude} ../lib/n2t/attention.py
# :start-after: excerpt begins forward
# :end-before: excerpt ends
# :caption: lib/n2t/attention.py, MultiHeadAttention.forward: project and split
# ```
#
# Then it attends in every head at once, concatenates the heads and applies $W^O$. When
# the weights are not asked for, PyTorch's fused `F.scaled_dot_product_attention`
# computes the same values without ever storing the $(B, H, L_q, L_k)$ tensor of
# weights:
#
# ```{literalinclude} ../lib/n2t/attention.py
# :start-after: excerpt begins attend
# :end-before: excerpt ends
# :caption: lib/n2t/attention.py, MultiHeadAttention.forward: attend and concatenate
# ```

# %%
mha = MultiHeadAttention(d, num_heads, bias=False)
projections = (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj)
with torch.no_grad():
    for proj, weight in zip(projections, (w_q, w_k, w_v, w_o), strict=True):
        proj.weight.copy_(weight.T)
    fast, no_weights = mha(x1, x1, x1)  # fused
    explicit, per_head_weights = mha(x1, x1, x1, need_weights=True)  # explicit

# %%
assert torch.allclose(fast[0], multi_head_out, atol=1e-5) and no_weights is None
assert torch.allclose(explicit, fast, atol=1e-5)
assert torch.allclose(per_head_weights[0], head_weights, atol=1e-6)

# %% [markdown]
# The head size is $d/h$, so the width must divide evenly among the heads. Asking
# otherwise is an error that says why:

# %%
try:
    MultiHeadAttention(embed_dim=10, num_heads=3)
except ValueError as error:
    message = str(error)
print(message)

# %% tags=["hide-input"]
assert "embed_dim (10) must be divisible by num_heads (3)" in message

# %% [markdown]
# ## The same answer as PyTorch's `nn.MultiheadAttention`
#
# PyTorch ships a multi-head attention layer. It keeps the three input projections in
# one packed matrix `in_proj_weight` of shape $(3d, d)$; `load_torch_weights` checks
# that the two layers have the same shape, splits that matrix into our three layers and
# copies the output projection:
#
# ```{literalinclude} ../lib/n2t/attention.py
# :start-after: excerpt begins load_torch_weights
# :end-before: excerpt ends
# :caption: lib/n2t/attention.py, the core of MultiHeadAttention.load_torch_weights
# ```
#
# Then we feed both layers the same batch. Remember the mask conventions: ours is
# `True` = *may* attend; PyTorch's `attn_mask` and `key_padding_mask` are `True` = *may
# not*, so we pass `~mask`.

# %%
torch_mha = nn.MultiheadAttention(d, num_heads, batch_first=True)
with torch.no_grad():  # PyTorch starts biases at zero; make them count
    torch_mha.in_proj_bias.normal_()
    torch_mha.out_proj.bias.normal_()
ours = MultiHeadAttention(d, num_heads).load_torch_weights(torch_mha)

batch = torch.randn(3, 7, d)  # (B, L, d)
lengths = torch.tensor([7, 5, 2])
keep = padding_mask(lengths, 7)  # (3, 1, 1, 7), True = may attend
with torch.no_grad():
    theirs_plain, _ = torch_mha(batch, batch, batch)
    ours_plain, _ = ours(batch, batch, batch)
    theirs_masked, theirs_weights = torch_mha(
        batch, batch, batch, key_padding_mask=~keep[:, 0, 0],
        attn_mask=~causal_mask(7), average_attn_weights=False,
    )
    ours_masked, ours_weights = ours(batch, batch, batch, mask=keep,
                                     is_causal=True, need_weights=True)

# %%
assert torch.allclose(ours_plain, theirs_plain, atol=1e-5)
assert torch.allclose(ours_masked, theirs_masked, atol=1e-5)
assert torch.allclose(ours_weights, theirs_weights, atol=1e-6)
parity_error = max((ours_plain - theirs_plain).abs().max(),
                   (ours_masked - theirs_masked).abs().max())

# %% tags=["remove-cell"]
glue("parity_error", parity_error, display=False)

# %% [markdown]
# Without a mask and with padding plus causal masks, the two layers agree to
# {glue:text}`parity_error:.1e`. The two differ on purpose in one case: a query that may
# attend to no key at all, where PyTorch's layer returns NaN and ours returns zeros
# (see {doc}`08_attention`). The unit tests in `tests/test_attention.py` repeat the
# comparison with per-head masks, different key and value widths, both code paths and
# gradients, and check the property that makes a causal layer usable for generation:
# changing a later token never changes an earlier output.
#
# ## What do the heads learn?
#
# A random layer attends more or less evenly. To see what training does, we give a tiny
# model a task that can only be solved by looking elsewhere in the sequence — and in two
# different places at once. The input is a random sequence of $n$ digits; at every
# position $i$ the model must output two digits:
#
# - the **mirror** digit $x_{n-1-i}$ (read the sequence backwards), and
# - the **previous** digit $x_{i-1}$ (with $x_{-1}$ wrapping round to the last digit).
#
# The model is attention only: digit embeddings, one multi-head attention layer with
# **two heads**, and a linear read-out with twenty outputs (ten logits per answer).
# Because attention is blind to order, we add a learned vector per position to the
# input; {doc}`10_transformer` explains better ways to encode position.

# %%
seq_len, vocab_size, width = cfg.toy_seq_len, 10, 32


class AttentionOnly(nn.Module):
    """Digit + position embeddings → self-attention → two 10-way read-outs."""

    def __init__(self, num_heads: int = 2) -> None:
        super().__init__()
        self.digit = nn.Embedding(vocab_size, width)
        self.position = nn.Parameter(0.5 * torch.randn(seq_len, width))
        self.attention = MultiHeadAttention(width, num_heads)
        self.readout = nn.Linear(width, 2 * vocab_size)

    def forward(
        self, digits: torch.Tensor, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (batch, n, 20) and weights (batch, heads, n, n) or None."""
        h = self.digit(digits) + self.position  # (batch, n, width)
        attended, weights = self.attention(h, h, h, need_weights=need_weights)
        return self.readout(attended), weights


# %% [markdown]
# The data are random digit sequences; the two targets are the sequence flipped and the
# sequence rolled one step to the right:

# %%
Batch = tuple[torch.Tensor, torch.Tensor]  # digits (B, n), targets (B, n, 2)


def make_batch(size: int, generator: torch.Generator) -> Batch:
    """Random digits and their targets: the mirror and the previous digit."""
    digits = torch.randint(0, vocab_size, (size, seq_len), generator=generator)
    targets = torch.stack([digits.flip(1), digits.roll(1, dims=1)], dim=-1)
    return digits, targets


def loss_fn(model: AttentionOnly, batch: Batch) -> torch.Tensor:
    """Cross-entropy of both answers at every position."""
    digits, targets = batch
    logits, _ = model(digits)
    return F.cross_entropy(logits.reshape(-1, vocab_size), targets.reshape(-1))


# %%
generator = seed_everything(0)
toy = AttentionOnly()
train_batches = [
    make_batch(cfg.toy_batch, generator) for _ in range(cfg.toy_steps)
]
optimizer = torch.optim.Adam(toy.parameters(), lr=1e-2)
history = fit(toy, train_batches, loss_fn, optimizer, desc="two heads")

# %%
toy.eval()
model_device = next(toy.parameters()).device
test_size = 2000
test_digits, test_targets = make_batch(test_size, generator)
with torch.no_grad():
    test_inputs = test_digits.to(model_device)
    test_logits, test_weights = toy(test_inputs, need_weights=True)
test_logits, test_weights = test_logits.cpu(), test_weights.cpu()
predictions = test_logits.view(test_size, seq_len, 2, vocab_size).argmax(-1)
correct = (predictions == test_targets).float()  # (test_size, n, 2)
accuracy_mirror, accuracy_previous = correct.mean(dim=(0, 1)).tolist()
accuracy_mirror, accuracy_previous

# %% [markdown]
# Now the attention maps of the two heads on one example, the first digits of $\pi$:

# %% mystnb={"figure": {"caption": "Attention weights of the two heads of the trained model on one input. One head looks along the anti-diagonal (the mirror position n-1-i), the other just below the diagonal (the previous position): the heads have split the task between them.", "name": "fig-heads"}, "image": {"alt": "Two heat maps of query position against key position, labelled with the digits of pi. In one head the weight sits on the anti-diagonal running from the top right to the bottom left; in the other it sits on the line just below the main diagonal, plus the top-right corner where the first position wraps round to the last."}}
example = torch.tensor([int(c) for c in "314159265358979323"[:seq_len]])
with torch.no_grad():
    example_input = example[None].to(model_device)  # a batch of one
    _, example_weights = toy(example_input, need_weights=True)
example_weights = example_weights.cpu()
digits = [str(int(c)) for c in example]
fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.0))
for head, ax in enumerate(axes):
    n2t.plot.heatmap(example_weights[0, head], xlabels=digits, ylabels=digits,
                     xlabel="key position (digit)",
                     ylabel="query position (digit)", title=f"head {head}",
                     vmin=0, vmax=1, colorbar=False, ax=ax)
plt.show()

# %% [markdown]
# To say "this head does the mirror" with a number, we measure how much weight each head
# puts, on average, on the mirror position and on the previous position (leaving out the
# positions where the two coincide):

# %%
positions = torch.arange(seq_len)
mirror_pos = seq_len - 1 - positions
previous_pos = (positions - 1) % seq_len
distinct = mirror_pos != previous_pos
mean_weights = test_weights.mean(dim=0)  # (heads, n, n), over test sequences


def mass_on(targets: torch.Tensor) -> torch.Tensor:
    """Mean weight (heads,) that each query puts on its target position."""
    return mean_weights[:, positions, targets][:, distinct].mean(dim=1)


mirror_mass, previous_mass = mass_on(mirror_pos), mass_on(previous_pos)
mirror_head = int(mirror_mass.argmax())
previous_head = int(previous_mass.argmax())
mirror_mass, previous_mass

# %%
assert min(accuracy_mirror, accuracy_previous) > 0.95  # the task is solved
assert mirror_head != previous_head  # ... by two different heads
# each one specialised:
assert mirror_mass[mirror_head] > 0.6 and previous_mass[previous_head] > 0.6
assert mirror_mass[previous_head] < 0.3 and previous_mass[mirror_head] < 0.3

# %% tags=["remove-cell"]
def train_and_score(num_heads: int) -> tuple[float, float]:
    """Train the toy with ``num_heads`` heads as above; its two test accuracies."""
    generator = seed_everything(0)
    model = AttentionOnly(num_heads)
    batches = [make_batch(cfg.toy_batch, generator) for _ in range(cfg.toy_steps)]
    fit(model, batches, loss_fn, torch.optim.Adam(model.parameters(), lr=1e-2),
        desc=f"{num_heads} head(s)")
    model.eval()
    with torch.no_grad():
        logits, _ = model(test_digits.to(next(model.parameters()).device))
    guesses = logits.cpu().view(test_size, seq_len, 2, vocab_size).argmax(-1)
    return tuple((guesses == test_targets).float().mean(dim=(0, 1)).tolist())


one_head_mirror, one_head_previous = train_and_score(num_heads=1)
two_heads_worst = min(accuracy_mirror, accuracy_previous)
if min(one_head_mirror, one_head_previous) < two_heads_worst - 0.05:
    one_head_verdict = (
        f"A single head of the same width, trained the same way, gets only"
        f" {100 * one_head_mirror:.1f}% of the mirror digits and"
        f" {100 * one_head_previous:.1f}% of the previous ones: it has to choose where"
        " to look, and the linear read-out cannot untangle an average of two digits.")
else:
    one_head_verdict = (
        f"A single head of the same width, trained the same way, gets"
        f" {100 * one_head_mirror:.1f}% and {100 * one_head_previous:.1f}%: on this"
        " task it manages nearly as well, so the split is a preference, not a"
        " necessity.")
glue("one_head_verdict", Text(one_head_verdict), display=False)
glue("toy_steps", history.steps, display=False)
glue("toy_seconds", history.seconds, display=False)
glue("toy_params", count_parameters(toy), display=False)
glue("toy_acc_mirror", 100 * accuracy_mirror, display=False)
glue("toy_acc_previous", 100 * accuracy_previous, display=False)
glue("mirror_head", mirror_head, display=False)
glue("previous_head", previous_head, display=False)
glue("mirror_head_mass", mirror_mass[mirror_head], display=False)
glue("previous_head_mass", previous_mass[previous_head], display=False)
glue("mirror_head_other", previous_mass[mirror_head], display=False)
glue("previous_head_other", mirror_mass[previous_head], display=False)

# %% [markdown]
# After {glue:text}`toy_steps` steps ({glue:text}`toy_seconds:.1f` s on this machine)
# the {glue:text}`toy_params:,`-parameter model gets {glue:text}`toy_acc_mirror:.1f`% of
# the mirror digits and {glue:text}`toy_acc_previous:.1f`% of the previous digits right.
# Head {glue:text}`mirror_head` puts {glue:text}`mirror_head_mass:.2f` of its weight on
# the mirror position and only {glue:text}`mirror_head_other:.2f` on the previous one;
# head {glue:text}`previous_head` does the opposite
# ({glue:text}`previous_head_mass:.2f` against {glue:text}`previous_head_other:.2f`).
# Nobody told the heads which job to take: one softmax cannot put all its weight on two
# places at once, so the two sub-tasks end up in two heads.
# {glue:text}`one_head_verdict`
#
# Heads of real trained models specialise too, if less cleanly. In BERT some heads
# attend to the previous or the next token, some to the separator token, and some follow
# syntactic relations, such as from a verb to its direct object or from a noun to its
# determiner, or link a pronoun to what it refers to {cite:p}`clark2019`. In a
# Transformer trained to translate, a few heads with such identifiable jobs —
# positional, syntactic, pointing at rare words — do most of the work, and most of the
# other heads can be pruned with little loss {cite:p}`voita2019`. Multi-head attention
# is more than a wide single head because different heads can ask different questions.
#
# ## Why attention replaced recurrence
#
# An LSTM {cite:p}`hochreiter1997` computes $\mathbf{h}_t$ from $\mathbf{h}_{t-1}$: a
# sequence of length $n$ takes $n$ steps that cannot run in parallel, and information
# from token 1 reaches token $n$ only through $n-1$ applications of the cell. A
# convolutional layer with kernel width $k$ {cite:p}`gehring2017` computes every
# position at once, but each output sees only $k$ neighbours, so distant tokens meet
# only after a stack of layers: $n/k$ of them with contiguous kernels, $\log_k n$ with
# dilated ones {cite:p}`kalchbrenner2016`. Self-attention computes all $n$ outputs at
# once from a few matrix products, and every token reaches every other in one step.
# {cite:t}`vaswani2017` compare the three kinds of layer by the work they do, the steps
# that must run one after another, and the longest path between two tokens:
#
# | layer | work per layer | sequential operations | maximum path length |
# |---|---|---|---|
# | self-attention | $O(n^2 \cdot d)$ | $O(1)$ | $O(1)$ |
# | recurrent (LSTM) | $O(n \cdot d^2)$ | $O(n)$ | $O(n)$ |
# | convolutional, kernel $k$ | $O(k \cdot n \cdot d^2)$ | $O(1)$ | $O(\log_k n)$ |
#
# (The convolutional path length is for dilated convolutions; with contiguous kernels it
# is $O(n/k)$.) The price of attention is the $n \times n$ score matrix: its work grows
# with $n^2$, the others' with $n$.
#
# The table keeps only the dominant term of each row, and that hides something. A
# self-attention layer also projects every token to its query, key and value, and
# projects the concatenated heads back: four $d \times d$ matrices, $4nd^2$
# multiply–adds, the same order as the LSTM's $8nd^2$ (four gates, each with a
# $d \times d$ matrix for the input and one for the previous state). Counting both
# parts, attention does $4nd^2 + 2n^2d$ multiply–adds (the scores and the weighted sum
# take $n^2 d$ each) against the LSTM's $8nd^2$, a ratio of
#
# $$
# \frac{4nd^2 + 2n^2d}{8nd^2} = \frac{1}{2} + \frac{n}{4d}.
# $$
#
# So attention does *less* arithmetic than an LSTM of the same width until $n = 2d$, and
# becomes the costlier layer only once the sequence is a few times longer than the layer
# is wide. Sentences are usually shorter than the width of the models that read them,
# which is the regime where self-attention is cheap.
#
# Counts are one thing, time another. The same table says what decided the matter: the
# sequential operations. An LSTM cannot start step $t$ before step $t-1$ has finished,
# while attention's products over all positions can run at once, on as many arithmetic
# units as the machine has. We measure both sides: one **training step** (forward and
# backward) of a self-attention layer and of an `nn.LSTM` of the same width, on growing
# sequences, with one CPU thread and with every core of the machine that built this
# page. The attention is full (not causal), the case the count above describes, and each
# time is the fastest of a few interleaved repeats.

# %%
timing_width, timing_batch = cfg.timing_width, cfg.timing_batch
attention_layer = MultiHeadAttention(timing_width, num_heads=4)
lstm_layer = nn.LSTM(timing_width, timing_width, batch_first=True)
if hasattr(os, "sched_getaffinity"):  # the cores this process may use
    cores = len(os.sched_getaffinity(0))
else:
    cores = os.cpu_count() or 1
thread_counts = sorted({1, cores})  # one thread, and the whole machine


def training_step(layer: nn.Module, x: torch.Tensor) -> None:
    """Forward and backward of one layer (the loss: the sum of its outputs)."""
    layer.zero_grad(set_to_none=True)
    out = layer(x, x, x)[0] if layer is attention_layer else layer(x)[0]
    out.sum().backward()


def seconds(run) -> float:
    """The wall-clock time of one call of ``run``."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# %%
step_ms = {}  # (layer, threads) -> ms per training step, one per length
threads_before = torch.get_num_threads()
for threads in thread_counts:
    torch.set_num_threads(threads)
    for name in ("attention", "LSTM"):
        step_ms[name, threads] = []
    for n in cfg.timing_lengths:
        x = torch.randn(timing_batch, n, timing_width)
        best = {"attention": math.inf, "LSTM": math.inf}
        layers = (("attention", attention_layer), ("LSTM", lstm_layer))
        for repeat in range(cfg.timing_repeats + 1):  # interleaved: load hits both
            for name, layer in layers:
                took = seconds(lambda layer=layer, x=x: training_step(layer, x))
                if repeat:  # the first round warms up
                    best[name] = min(best[name], took)
        for name in best:
            step_ms[name, threads].append(1e3 * best[name])
torch.set_num_threads(threads_before)

# %% mystnb={"figure": {"caption": "Left: the time of one training step (forward and backward) of one self-attention layer and one LSTM layer of the same width, on one CPU thread and on every core of the machine that built this page, as the sequence grows (log–log). Right: the ratio of the two times for each thread count, and the ratio of their multiply–add counts, 1/2 + n/(4d) (dashed); below the dotted line attention is the faster layer.", "name": "fig-attention-vs-lstm"}, "image": {"alt": "Left: rising lines of training-step time against sequence length on log-log axes, one per layer and thread count. Right: for each thread count, the time ratio of attention to LSTM rising with the sequence length, next to the dashed rising line of the multiply-add ratio; a dotted horizontal line marks a ratio of 1."}}
lengths_swept = np.array(cfg.timing_lengths)
ratio = {t: np.array(step_ms["attention", t]) / np.array(step_ms["LSTM", t])
         for t in thread_counts}
counted_ratio = 0.5 + lengths_swept / (4 * timing_width)
label = {t: "1 thread" if t == 1 else f"{t} threads" for t in thread_counts}
fig, (ax_t, ax_r) = plt.subplots(1, 2, figsize=(9.6, 3.6))
n2t.plot.curves(
    {f"{name}, {label[t]}": (lengths_swept, step_ms[name, t])
     for name in ("attention", "LSTM") for t in thread_counts},
    xlabel="sequence length n", ylabel="training step (ms)",
    logx=True, logy=True, ax=ax_t,
)
n2t.plot.curves(
    {f"measured, {label[t]}": (lengths_swept, ratio[t]) for t in thread_counts},
    xlabel="sequence length n", ylabel="attention / LSTM",
    logx=True, logy=True, ax=ax_r,
)
ax_r.plot(lengths_swept, counted_ratio, "k--", linewidth=1.0,
          label="multiply–adds: $1/2 + n/(4d)$")
ax_r.axhline(1.0, color="grey", linestyle=":", linewidth=1.0, label="equal")
ax_r.legend()
for ax in (ax_t, ax_r):
    ax.set_xticks(lengths_swept, labels=[str(n) for n in lengths_swept])
    ax.xaxis.set_minor_locator(plt.NullLocator())
plt.show()

# %% tags=["remove-cell"]
def crossing(ratios: np.ndarray) -> str:
    """Where attention stops being the faster layer, in words."""
    if (ratios < 1).all():
        return f"at every length up to {lengths_swept[-1]:,}"
    if (ratios >= 1).all():
        return "at no length measured"
    last = int(np.flatnonzero(ratios < 1).max())
    return f"up to n = {lengths_swept[last]:,}"


one, many = thread_counts[0], thread_counts[-1]
speedup = {name: np.array(step_ms[name, one]) / np.array(step_ms[name, many])
           for name in ("attention", "LSTM")}
glue("timing_width", timing_width, display=False)
glue("timing_batch", timing_batch, display=False)
glue("timing_n_short", lengths_swept[0], display=False)
glue("timing_n_long", lengths_swept[-1], display=False)
glue("counted_ratio_short", counted_ratio[0], display=False)
glue("counted_ratio_long", counted_ratio[-1], display=False)
glue("counted_crossover", 2 * timing_width, display=False)
glue("ratio_short_one", ratio[one][0], display=False)
glue("ratio_long_one", ratio[one][-1], display=False)
glue("faster_one", Text(crossing(ratio[one])), display=False)
if many == one:
    threads_sentence = (
        "The machine that built this page has a single core, so the second half of"
        " the comparison, what parallel hardware does for each layer, is not measured"
        " here.")
else:
    gain = {name: float(speedup[name][-1]) for name in speedup}

    def change(name: str) -> str:
        """How a layer's step time changed from one thread to all of them."""
        if gain[name] >= 1.05:
            return f"{gain[name]:.2f} times as fast as on one thread"
        if gain[name] > 1 / 1.05:
            return "about as fast as on one thread"
        return f"{1 / gain[name]:.2f} times slower than on one thread"

    why = ""
    if gain["LSTM"] < 1 / 1.05:
        why = (" (each of its time steps multiplies matrices too small to share out,"
               " and the threads cost more to coordinate than they save)")
    threads_sentence = (
        f"With all {many} threads, at n = {lengths_swept[-1]:,}, attention's training"
        f" step runs {change('attention')}, and the LSTM's {change('LSTM')}{why}; the"
        f" ratio of the two layers goes from {ratio[one][-1]:.2f} to"
        f" {ratio[many][-1]:.2f}, and attention is the faster layer"
        f" {crossing(ratio[many])}.")
glue("threads_sentence", Text(threads_sentence), display=False)

# %% [markdown]
# With width $d =$ {glue:text}`timing_width` and batch {glue:text}`timing_batch`, on one
# thread, a training step of the attention layer takes {glue:text}`ratio_short_one:.2f`
# times as long as the LSTM's at $n =$ {glue:text}`timing_n_short` (the multiply–add
# count predicts {glue:text}`counted_ratio_short:.2f`) and
# {glue:text}`ratio_long_one:.2f` times as long at $n =$ {glue:text}`timing_n_long`
# (predicted {glue:text}`counted_ratio_long:.2f`); attention is the faster layer
# {glue:text}`faster_one`, where the count puts the crossing at $n = 2d =$
# {glue:text}`counted_crossover`. The measured ratio follows the count's trend — the
# projections, which both layers pay, dominate short sequences, and the quadratic score
# matrix long ones — but not its value: the two layers do not run their arithmetic
# equally fast. {glue:text}`threads_sentence`
#
# A CPU has a handful of cores; a GPU runs thousands of multiply–adds at the same
# moment. It can spread attention's $n^2 d$ products and every position's projections
# across them, but it still cannot start LSTM step $t$ before step $t-1$ has finished.
# During training the whole target sequence is known (teacher forcing), so a
# self-attention model processes all positions of a batch in one parallel pass, while
# an LSTM walks through them one by one: this is the advantage that made the
# Transformer trainable at scale {cite:p}`vaswani2017`, and this page measures only its
# beginning. The path length of 1 is the other argument: a gradient from the last token
# reaches the first without passing through $n-1$ saturating gates, which
# {cite:t}`vaswani2017` argue makes long-range dependencies easier to learn. The
# quadratic cost in $n$ remains attention's weak point, and much later work tries to
# reduce it.
#
# ## What self-attention still lacks
#
# Self-attention mixes information *between* positions, but it is blind to their order,
# and each output is a weighted average of the value vectors $\mathbf{X}\mathbf{W}_V$:
# it lies in their convex hull. The softmax makes the layer non-linear in $\mathbf{X}$,
# but only through the weights; no token's own vector goes through a non-linear
# transformation. The Transformer of {doc}`10_transformer` adds the missing pieces
# around multi-head attention: positional encodings, a position-wise feed-forward
# network (the per-token non-linearity), residual connections and layer normalisation,
# stacked into many layers.
#
# ## Exercises
#
# 1. **Parameter count.** Show that `MultiHeadAttention(d, h)` has $4d^2 + 4d$
#    parameters whatever $h$ is, and check it with `n2t.train.count_parameters` for
#    $d = 64$ and $h \in \{1, 2, 4, 8\}$.
# 2. **One head.** Train `AttentionOnly(num_heads=1)` with the same width on the same
#    task, as a hidden cell of this page does, and draw its single attention map. Where
#    does it look, and how does that explain its two accuracies?
# 3. **A causal model.** Add `is_causal=True` to the toy model. Which of the two
#    sub-tasks can it still solve, and why? Check with the accuracies.
# 4. **Equivariance with positions.** Add a position vector of width $d$ (random, or
#    learned as in the toy model) to each word of the six-word sentence before the layer
#    and repeat the permutation check. Which assertion fails now, and why is that what
#    we want?
# 5. **Where the time goes.** Time the attention layer's four projections separately
#    from the score and weighted-sum computation for $n$ from 16 to 2048. At which $n$
#    does the $n^2$ part start to dominate? Compare with the count $4nd^2$ against
#    $2n^2d$.
# 6. **The LSTM's speed.** Divide the multiply–add counts by the measured times to get
#    each layer's multiply–adds per second. Which layer uses the CPU better, and why?
