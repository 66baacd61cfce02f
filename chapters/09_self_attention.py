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
# In the previous chapter a decoder looked at an encoder: "I look at others". The encoder and the decoder
# themselves were still recurrent networks that read one token after another. The Transformer
# {cite:p}`vaswani2017` asks: **what if every position of a sequence looks at every other position of the same
# sequence, and we drop the recurrence?** This chapter builds that *self-attention*, finds the one thing it
# cannot see (word order), splits it into several *heads* that look for different things, checks our
# implementation against PyTorch's, watches two heads learn different jobs, and measures what is gained and
# lost against an LSTM.

# %% tags=["remove-cell"]
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from n2t.book import glue
from torch import nn

import n2t.plot
from n2t.attention import MultiHeadAttention, causal_mask, padding_mask
from n2t.profile import current
from n2t.train import count_parameters, fit, seed_everything

n2t.plot.use_book_style()
cfg = current().settings("self_attention")
seed_everything(0)

# %% [markdown]
# ## Self-attention: queries, keys and values from one sequence
#
# Stack the $N$ token vectors of a sentence as the rows of $\mathbf{X}$, shape $(N, d)$. Self-attention
# derives all three roles from it with three learned matrices:
#
# $$
# \mathbf{Q} = \mathbf{X}\mathbf{W}_Q, \quad \mathbf{K} = \mathbf{X}\mathbf{W}_K, \quad
# \mathbf{V} = \mathbf{X}\mathbf{W}_V, \qquad
# \operatorname{SelfAttention}(\mathbf{X}) =
# \operatorname{softmax}\!\Big(\frac{\mathbf{Q}\mathbf{K}^\top}{\sqrt{d_k}}\Big)\mathbf{V}.
# $$
#
# The same token plays three parts: as a query it asks "what am I looking for?", as a key it advertises "what
# do I contain?", as a value it says "what do I pass on if chosen?". The score matrix is $N \times N$: one row
# per token, one column per token it may look at. Here it is for a six-word sentence with random embeddings.

# %%
sentence = ["the", "road", "is", "blocked", "by", "snow"]
d = 16
embeddings = {word: torch.randn(d) for word in sentence}
x = torch.stack([embeddings[word] for word in sentence])  # (N, d)
w_q, w_k, w_v = (torch.randn(d, d) / math.sqrt(d) for _ in range(3))

q, k, v = x @ w_q, x @ w_k, x @ w_v  # (N, d) each
scores = q @ k.T / math.sqrt(d)  # (N, N): every token scores every token
weights = scores.softmax(dim=-1)
self_attended = weights @ v  # (N, d): a new vector per token
scores.shape, self_attended.shape

# %% mystnb={"figure": {"caption": "Self-attention weights of a randomly initialised layer on a six-word sentence: row i is how much token i takes from each token (each row sums to one).", "name": "fig-self-attention-weights"}}
n2t.plot.heatmap(weights, xlabels=sentence, ylabels=sentence, xlabel="key (looked at)", ylabel="query (looking)",
                 annotate=True, vmin=0, vmax=1)
plt.show()

# %% [markdown]
# The library computes the same thing with `MultiHeadAttention` with a single head. Its projections are
# `nn.Linear` layers, which multiply by the *transpose* of their weight, so we copy $\mathbf{W}^\top$ into
# them, and make the final output projection the identity:

# %%
one_head = MultiHeadAttention(d, num_heads=1, bias=False)
with torch.no_grad():
    one_head.q_proj.weight.copy_(w_q.T)
    one_head.k_proj.weight.copy_(w_k.T)
    one_head.v_proj.weight.copy_(w_v.T)
    one_head.out_proj.weight.copy_(torch.eye(d))
    library_out, library_weights = one_head(x[None], x[None], x[None], need_weights=True)  # batch of one
assert torch.allclose(library_out[0], self_attended, atol=1e-5)
assert torch.allclose(library_weights[0, 0], weights, atol=1e-6)

# %% [markdown]
# ## Self-attention does not see word order
#
# Nothing in the formula refers to positions. Shuffle the rows of $\mathbf{X}$ and the rows of $\mathbf{Q}$,
# $\mathbf{K}$, $\mathbf{V}$ are shuffled the same way; the score matrix has its rows *and* columns permuted;
# and each output row is the same as before, just in its new place. In symbols, for a permutation matrix
# $\mathbf{P}$, $\operatorname{SelfAttention}(\mathbf{P}\mathbf{X}) = \mathbf{P}\,\operatorname{SelfAttention}(\mathbf{X})$.

# %%
shuffled = ["snow", "the", "blocked", "road", "by", "is"]
order = torch.tensor([sentence.index(word) for word in shuffled])  # where each shuffled word came from
x_shuffled = x[order]
with torch.no_grad():
    out_shuffled, weights_shuffled = one_head(x_shuffled[None], x_shuffled[None], x_shuffled[None], need_weights=True)
assert torch.allclose(out_shuffled[0], self_attended[order], atol=1e-5)  # outputs permuted identically
assert torch.allclose(weights_shuffled[0, 0], weights[order][:, order], atol=1e-6)

# %% mystnb={"figure": {"caption": "The same layer on the sentence and on a shuffled version. The weights are the same numbers, rearranged: each word attends to each other word exactly as before, wherever it stands.", "name": "fig-order-blind"}}
fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(10.0, 4.0))
n2t.plot.heatmap(weights, xlabels=sentence, ylabels=sentence, xlabel="key", ylabel="query", title="original",
                 vmin=0, vmax=1, colorbar=False, annotate=True, ax=ax_a)
n2t.plot.heatmap(weights_shuffled[0, 0], xlabels=shuffled, ylabels=shuffled, xlabel="key", ylabel="query",
                 title="shuffled", vmin=0, vmax=1, colorbar=False, annotate=True, ax=ax_b)
plt.show()

# %% [markdown]
# So the vector that self-attention computes for "road" is identical in "the road is blocked by snow" and in
# the word salad — and equally identical in "the snow is blocked by road", which means something else
# entirely:

# %%
swapped = ["the", "snow", "is", "blocked", "by", "road"]
x_swapped = torch.stack([embeddings[word] for word in swapped])
with torch.no_grad():
    out_swapped, _ = one_head(x_swapped[None], x_swapped[None], x_swapped[None])
road_difference = (out_swapped[0, swapped.index("road")] - self_attended[sentence.index("road")]).abs().max()
assert road_difference < 1e-5

# %% tags=["remove-cell"]
glue("road_difference", road_difference, display=False)

# %% [markdown]
# The largest difference between the two vectors for "road" is {glue:text}`road_difference:.1e`, rounding
# error. A recurrent network reads left to right and cannot help knowing the order; self-attention sees a
# *bag* of tokens. The Transformer therefore adds information about each position to the token vectors before
# the first layer — *positional encodings*, the subject of Chapter 10. (A causal mask breaks the symmetry only
# partly: it tells a token how many tokens precede it, not which.)
#
# ## Multi-head attention
#
# One attention distribution per token is one question per token: a single head must average together
# everything it looks at. But a word has several relations at once — "blocked" needs its subject "road" and
# its cause "snow". Multi-head attention runs $h$ attentions side by side, each in its own smaller subspace,
# and concatenates the results:
#
# $$
# \operatorname{head}_i = \operatorname{Attention}(\mathbf{X}\mathbf{W}_Q^{(i)}, \mathbf{X}\mathbf{W}_K^{(i)},
# \mathbf{X}\mathbf{W}_V^{(i)}), \qquad
# \operatorname{MultiHead}(\mathbf{X}) = [\operatorname{head}_1; \dots; \operatorname{head}_h]\,\mathbf{W}_O,
# $$
#
# with each $\mathbf{W}^{(i)}$ of shape $(d, d/h)$ and $\mathbf{W}_O$ of shape $(d, d)$. In practice the $h$
# projections are one $(d, d)$ matrix whose output is *split* into $h$ slices of size $d/h$, so the heads cost
# no more parameters or arithmetic than one head of full width. By hand, for $h = 4$:

# %%
num_heads = 4
head_dim = d // num_heads
w_o = torch.randn(d, d) / math.sqrt(d)


def split_heads(t: torch.Tensor) -> torch.Tensor:
    """(N, d) → (heads, N, d / heads): slice the feature dimension into one block per head."""
    return t.view(t.shape[0], num_heads, head_dim).transpose(0, 1)


q_heads, k_heads, v_heads = split_heads(x @ w_q), split_heads(x @ w_k), split_heads(x @ w_v)
head_weights = (q_heads @ k_heads.transpose(1, 2) / math.sqrt(head_dim)).softmax(dim=-1)  # (heads, N, N)
heads = head_weights @ v_heads  # (heads, N, head_dim): each head attends on its own
concatenated = heads.transpose(0, 1).reshape(len(sentence), d)  # (N, d)
multi_head_out = concatenated @ w_o
q_heads.shape, head_weights.shape, multi_head_out.shape

# %% [markdown]
# Note the scaling: each head divides by $\sqrt{d/h}$, the width of *its* queries and keys. The library's
# `MultiHeadAttention.forward` does exactly these steps, batched; when the weights are not asked for it hands
# the per-head attention to PyTorch's fused `F.scaled_dot_product_attention`, which computes the same values
# without storing the $(B, h, n, m)$ weight tensor:
#
# ```{literalinclude} ../lib/n2t/attention.py
# :pyobject: MultiHeadAttention.forward
# ```

# %%
mha = MultiHeadAttention(d, num_heads, bias=False)
with torch.no_grad():
    for proj, weight in ((mha.q_proj, w_q), (mha.k_proj, w_k), (mha.v_proj, w_v), (mha.out_proj, w_o)):
        proj.weight.copy_(weight.T)
    fast, no_weights = mha(x[None], x[None], x[None])  # fused path
    explicit, per_head_weights = mha(x[None], x[None], x[None], need_weights=True)  # explicit path
assert torch.allclose(fast[0], multi_head_out, atol=1e-5) and no_weights is None
assert torch.allclose(explicit, fast, atol=1e-5)
assert torch.allclose(per_head_weights[0], head_weights, atol=1e-6)

# %% [markdown]
# The head size is $d/h$, so the width must divide evenly among the heads. Asking otherwise is an error that
# says why:

# %%
try:
    MultiHeadAttention(embed_dim=10, num_heads=3)
except ValueError as error:
    message = str(error)
print(message)
assert "embed_dim (10) must be divisible by num_heads (3)" in message

# %% [markdown]
# ## The same answer as PyTorch's `nn.MultiheadAttention`
#
# PyTorch ships a multi-head attention layer. It keeps the three input projections in one packed matrix
# `in_proj_weight` of shape $(3d, d)$; `load_torch_weights` splits it into our three layers and copies the
# output projection, and then we feed both the same batch.
#
# ```{literalinclude} ../lib/n2t/attention.py
# :pyobject: MultiHeadAttention.load_torch_weights
# ```
#
# Remember the mask conventions: ours is `True` = *may* attend; PyTorch's `attn_mask` and `key_padding_mask`
# are `True` = *may not*, so we pass `~mask`.

# %%
torch_mha = nn.MultiheadAttention(d, num_heads, batch_first=True)
with torch.no_grad():
    torch_mha.in_proj_bias.normal_()  # PyTorch starts biases at zero; make them count in the check
ours = MultiHeadAttention(d, num_heads).load_torch_weights(torch_mha)

batch = torch.randn(3, 7, d)
lengths = torch.tensor([7, 5, 2])
keep = padding_mask(lengths, 7)  # (3, 1, 1, 7), True = may attend
with torch.no_grad():
    theirs_plain, _ = torch_mha(batch, batch, batch)
    ours_plain, _ = ours(batch, batch, batch)
    theirs_masked, theirs_weights = torch_mha(batch, batch, batch, key_padding_mask=~keep[:, 0, 0],
                                              attn_mask=~causal_mask(7), average_attn_weights=False)
    ours_masked, ours_weights = ours(batch, batch, batch, mask=keep, is_causal=True, need_weights=True)

# %%
assert torch.allclose(ours_plain, theirs_plain, atol=1e-5)
assert torch.allclose(ours_masked, theirs_masked, atol=1e-5)
assert torch.allclose(ours_weights, theirs_weights, atol=1e-6)
parity_error = max((ours_plain - theirs_plain).abs().max(), (ours_masked - theirs_masked).abs().max())

# %% tags=["remove-cell"]
glue("parity_error", parity_error, display=False)

# %% [markdown]
# Without a mask and with padding plus causal masks, the two layers agree to
# {glue:text}`parity_error:.1e`. The unit tests in `tests/test_attention.py` repeat the comparison with
# per-head masks, different key and value widths, both code paths and gradients, and check the property that
# makes a causal layer usable for generation: changing a later token never changes an earlier output.
#
# ## What do the heads learn?
#
# A random layer attends more or less evenly. To see what training does, we give a tiny model a task that can
# only be solved by looking elsewhere in the sequence — and in two different places at once. The input is a
# random sequence of digits; at every position $i$ the model must output two digits:
#
# - the **mirror** digit $x_{N-1-i}$ (read the sequence backwards), and
# - the **previous** digit $x_{i-1}$ (with $x_{-1}$ wrapping round to the last digit).
#
# The model is attention only: digit embeddings, one multi-head attention layer with **two heads**, and a
# linear read-out with twenty outputs (ten logits per answer). Because attention is blind to order, we add a
# learned vector per position to the input; Chapter 10 explains better ways to encode position.

# %%
seq_len, vocab_size, width = cfg.toy_seq_len, 10, 32


class AttentionOnly(nn.Module):
    """Digit + position embeddings → one multi-head self-attention layer → two 10-way read-outs per position."""

    def __init__(self, num_heads: int = 2) -> None:
        super().__init__()
        self.digit = nn.Embedding(vocab_size, width)
        self.position = nn.Parameter(0.5 * torch.randn(seq_len, width))
        self.attention = MultiHeadAttention(width, num_heads)
        self.readout = nn.Linear(width, 2 * vocab_size)

    def forward(self, digits: torch.Tensor, need_weights: bool = False):
        h = self.digit(digits) + self.position  # (batch, N, width)
        attended, weights = self.attention(h, h, h, need_weights=need_weights)
        return self.readout(attended), weights  # logits (batch, N, 20), weights (batch, heads, N, N) or None


def make_batch(size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random digit sequences (size, N) and their targets (size, N, 2): mirror digit, previous digit."""
    digits = torch.randint(0, vocab_size, (size, seq_len), generator=generator)
    return digits, torch.stack([digits.flip(1), digits.roll(1, dims=1)], dim=-1)


def loss_fn(model: AttentionOnly, batch) -> torch.Tensor:
    digits, targets = batch
    logits, _ = model(digits)
    return F.cross_entropy(logits.reshape(-1, vocab_size), targets.reshape(-1))  # both answers at once


# %%
generator = seed_everything(0)
toy = AttentionOnly()
train_batches = [make_batch(cfg.toy_batch, generator) for _ in range(cfg.toy_steps)]
history = fit(toy, train_batches, loss_fn, torch.optim.Adam(toy.parameters(), lr=1e-2), desc="two heads")

# %%
toy.eval()
test_digits, test_targets = make_batch(2000, generator)
with torch.no_grad():
    test_logits, test_weights = toy(test_digits, need_weights=True)
predictions = test_logits.view(2000, seq_len, 2, vocab_size).argmax(-1)
accuracy_mirror, accuracy_previous = (predictions == test_targets).float().mean(dim=(0, 1)).tolist()
accuracy_mirror, accuracy_previous

# %% [markdown]
# Now the attention maps of the two heads on one example, the first digits of $\pi$:

# %% mystnb={"figure": {"caption": "Attention weights of the two heads of the trained model on one input. One head looks along the anti-diagonal (the mirror position N-1-i), the other just below the diagonal (the previous position): the heads have split the task between them.", "name": "fig-heads"}}
example = torch.tensor([int(c) for c in "314159265358979323"[:seq_len]])
with torch.no_grad():
    _, example_weights = toy(example[None], need_weights=True)
digits = [str(int(c)) for c in example]
fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.0))
for head, ax in enumerate(axes):
    n2t.plot.heatmap(example_weights[0, head], xlabels=digits, ylabels=digits, xlabel="key position (digit)",
                     ylabel="query position (digit)", title=f"head {head}", vmin=0, vmax=1, colorbar=False, ax=ax)
plt.show()

# %% [markdown]
# To say "this head does the mirror" with a number, we measure how much weight each head puts, on average,
# on the mirror position and on the previous position (leaving out the positions where the two coincide):

# %%
positions = torch.arange(seq_len)
mirror_pos, previous_pos = seq_len - 1 - positions, (positions - 1) % seq_len
distinct = mirror_pos != previous_pos
mean_weights = test_weights.mean(dim=0)  # (heads, N, N), averaged over the test sequences
mirror_mass = mean_weights[:, positions, mirror_pos][:, distinct].mean(dim=1)  # (heads,)
previous_mass = mean_weights[:, positions, previous_pos][:, distinct].mean(dim=1)
mirror_head, previous_head = int(mirror_mass.argmax()), int(previous_mass.argmax())
mirror_mass, previous_mass

# %%
assert min(accuracy_mirror, accuracy_previous) > 0.95  # the task is solved
assert mirror_head != previous_head  # ... by two different heads
assert mirror_mass[mirror_head] > 0.6 and previous_mass[previous_head] > 0.6  # each one specialised
assert mirror_mass[previous_head] < 0.3 and previous_mass[mirror_head] < 0.3

# %% tags=["remove-cell"]
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
# After {glue:text}`toy_steps` steps ({glue:text}`toy_seconds:.1f` s on this machine) the
# {glue:text}`toy_params:,`-parameter model gets {glue:text}`toy_acc_mirror:.1f`% of the mirror digits and
# {glue:text}`toy_acc_previous:.1f`% of the previous digits right. Head {glue:text}`mirror_head` puts
# {glue:text}`mirror_head_mass:.2f` of its weight on the mirror position and only
# {glue:text}`mirror_head_other:.2f` on the previous one; head {glue:text}`previous_head` does the opposite
# ({glue:text}`previous_head_mass:.2f` against {glue:text}`previous_head_other:.2f`). Nobody told the heads
# which job to take: one softmax cannot put all its weight on two places at once, so the two sub-tasks end up
# in two heads. In trained language models heads specialise in the same way — some follow the previous token,
# some syntactic relations, some copy — which is why multi-head attention is more than a wide single head.
#
# ## Why attention replaced recurrence
#
# An LSTM {cite:p}`hochreiter1997` computes $\mathbf{h}_t$ from $\mathbf{h}_{t-1}$: a sequence of length $n$
# takes $n$ steps that cannot run in parallel, and information from token 1 reaches token $n$ only through
# $n-1$ applications of the cell. Self-attention computes all $n$ outputs at once from a few matrix products,
# and every token reaches every other in one step. The price is the $n \times n$ score matrix: $O(n^2 d)$ work
# per layer against the LSTM's $O(n d^2)$ {cite:p}`vaswani2017`.
#
# | | self-attention | LSTM |
# |---|---|---|
# | work per layer | $O(n^2 d)$ | $O(n d^2)$ |
# | sequential steps | $O(1)$ | $O(n)$ |
# | path between two tokens | 1 | up to $n - 1$ |
#
# We time a causal self-attention layer and an `nn.LSTM` of the same width, both forward only, on growing
# sequences on this machine's CPU (taking the fastest of a few interleaved repeats):

# %%
timing_width, timing_batch = cfg.timing_width, cfg.timing_batch
attention_layer = MultiHeadAttention(timing_width, num_heads=4).eval()
lstm_layer = nn.LSTM(timing_width, timing_width, batch_first=True).eval()


def fastest(run, repeats: int) -> float:
    """The shortest wall-clock time of ``repeats`` calls of ``run``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


# %%
attention_ms, lstm_ms = [], []
with torch.no_grad():
    for n in cfg.timing_lengths:
        inputs = torch.randn(timing_batch, n, timing_width)
        run_attention = lambda x=inputs: attention_layer(x, x, x, is_causal=True)  # noqa: E731
        run_lstm = lambda x=inputs: lstm_layer(x)  # noqa: E731
        run_attention(), run_lstm()  # warm up
        best_attention = best_lstm = math.inf
        for _ in range(cfg.timing_repeats):  # interleave, so that a burst of load hits both
            best_attention = min(best_attention, fastest(run_attention, 1))
            best_lstm = min(best_lstm, fastest(run_lstm, 1))
        attention_ms.append(1e3 * best_attention)
        lstm_ms.append(1e3 * best_lstm)

# %% mystnb={"figure": {"caption": "Left: forward time of one causal self-attention layer and one LSTM layer of the same width on this CPU, as the sequence grows (log–log). Right: the number of steps that must run one after another, which is what a parallel processor cannot hide.", "name": "fig-attention-vs-lstm"}}
lengths_swept = cfg.timing_lengths
fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(9.0, 3.4))
n2t.plot.curves({"self-attention": (lengths_swept, attention_ms), "LSTM": (lengths_swept, lstm_ms)},
                xlabel="sequence length n", ylabel="forward time (ms)", logx=True, logy=True, ax=ax_t)
n2t.plot.curves({"self-attention": (lengths_swept, [1] * len(lengths_swept)), "LSTM": (lengths_swept, lengths_swept)},
                xlabel="sequence length n", ylabel="sequential steps", logx=True, logy=True, ax=ax_s)
for ax in (ax_t, ax_s):
    ax.set_xticks(lengths_swept, labels=[str(n) for n in lengths_swept])
    ax.xaxis.set_minor_locator(plt.NullLocator())
plt.show()

# %%
ratio = np.array(attention_ms) / np.array(lstm_ms)
assert all(t > 0 for t in attention_ms + lstm_ms)
# Attention's time grows faster than the LSTM's: n² work against n.
assert ratio[-1] > ratio[0], (attention_ms, lstm_ms)

# %% tags=["remove-cell"]
glue("timing_width", timing_width, display=False)
glue("timing_batch", timing_batch, display=False)
glue("timing_threads", torch.get_num_threads(), display=False)
glue("timing_n_short", lengths_swept[0], display=False)
glue("timing_n_long", lengths_swept[-1], display=False)
glue("attention_ms_short", attention_ms[0], display=False)
glue("lstm_ms_short", lstm_ms[0], display=False)
glue("attention_ms_long", attention_ms[-1], display=False)
glue("lstm_ms_long", lstm_ms[-1], display=False)
glue("ratio_short", ratio[0], display=False)
glue("ratio_long", ratio[-1], display=False)

# %% [markdown]
# With width {glue:text}`timing_width` and batch {glue:text}`timing_batch` on {glue:text}`timing_threads`
# CPU threads, the attention layer takes {glue:text}`attention_ms_short:.2f` ms at $n =$
# {glue:text}`timing_n_short` against the LSTM's {glue:text}`lstm_ms_short:.2f` ms (a ratio of
# {glue:text}`ratio_short:.2f`), and {glue:text}`attention_ms_long:.1f` ms against
# {glue:text}`lstm_ms_long:.1f` ms at $n =$ {glue:text}`timing_n_long` (ratio {glue:text}`ratio_long:.2f`).
# The ratio grows with $n$, as the table predicts: attention does quadratic work. On a CPU with few cores the
# total amount of arithmetic is what counts: little of attention's parallelism can be put to use.
#
# The right panel is why attention won anyway. A GPU runs thousands of multiply–adds at the same moment; it can
# spread attention's $n^2 d$ products across them, but it cannot start LSTM step $t$ before step $t-1$ has
# finished. During training the whole target sequence is known (teacher forcing), so a self-attention model
# processes all positions of all sequences in a batch in one parallel pass, while an LSTM walks through them one
# by one. Add the path length of 1 — a gradient from the last token reaches the first without passing through
# $n-1$ saturating gates — and attention trains faster and better on long sequences. The quadratic cost in $n$
# remains its weak point, and much later work tries to reduce it.
#
# ## What self-attention still lacks
#
# Self-attention mixes information *between* positions, but it is blind to their order, and each output is
# only a weighted average of value vectors — a linear mixing with no per-token non-linearity. The Transformer
# (Chapter 10) adds the missing pieces around multi-head attention: positional encodings, a position-wise
# feed-forward network, residual connections and layer normalisation, stacked into many layers.
#
# ## Exercises
#
# 1. **Parameter count.** Show that `MultiHeadAttention(d, h)` has $4d^2 + 4d$ parameters whatever $h$ is,
#    and check it with `n2t.train.count_parameters` for $d = 64$ and $h \in \{1, 2, 4, 8\}$.
# 2. **One head.** Train `AttentionOnly(num_heads=1)` with the same width on the same task. What accuracy does
#    it reach on each of the two answers, and what does its single attention map look like?
# 3. **A causal model.** Add `is_causal=True` to the toy model. Which of the two sub-tasks can it still solve,
#    and why? Check with the accuracies.
# 4. **Equivariance with positions.** Add the learned position vectors of the toy model to the six-word sentence
#    before the layer and repeat the permutation check. Which assertion fails now, and why is that what we want?
# 5. **Where the time goes.** Time the attention layer's four projections separately from the score and
#    weighted-sum computation for $n$ from 16 to 2048. At which $n$ does the $n^2$ part start to dominate?
