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
# # The Transformer
#
# Chapter {doc}`07_seq2seq_attention` translated Chinese into English with two
# recurrent networks joined by attention, and Chapter {doc}`09_self_attention` showed
# that attention can also relate the positions of *one* sequence to each other. The
# Transformer {cite:p}`vaswani2017` takes the step these chapters point to and drops
# the recurrence altogether. The question of this chapter: **can a translation model
# be built from attention and position-wise layers alone, and is it better than the
# recurrent one?**
#
# We follow the paper, "Attention Is All You Need", section by section. Each part is
# quoted, then built in `n2t.transformer`, checked against PyTorch's own
# `nn.Transformer`, and put to work on the Chinese–English pairs of Chapter
# {doc}`07_seq2seq_attention`. On the way we measure three things the paper only
# asserts or leaves out: whether sinusoidal positions extrapolate to longer sentences,
# why the layer normalisation sits where it does, and what a key/value cache buys
# when decoding.

# %% tags=["remove-cell"]
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import n2t.plot
from n2t import data, decoding, metrics, positions, text, transformer, translation, zoo
from n2t.attention import causal_mask
from n2t.book import Text, glue, markdown_table
from n2t.clock import clock_label, clock_seconds
from n2t.profile import current
from n2t.train import count_parameters, seed_everything, warmup_inverse_sqrt

n2t.plot.use_book_style()
seed_everything(0)
# nn.Transformer warns that it cannot use its nested-tensor fast path for pre-LN
warnings.filterwarnings("ignore", message="enable_nested_tensor is True")

# %% [markdown]
# The experiments are sized by the profile (`quick` in CI, `full` for the numbers
# discussed in the text). The translation model's settings:

# %%
cfg = current().settings("transformer")
markdown_table(["setting", "value"], [
    ("width, heads, FFN width", f"{cfg.d_model}, {cfg.num_heads}, {cfg.d_ff}"),
    ("encoder, decoder layers", f"{cfg.num_encoder_layers}, {cfg.num_decoder_layers}"),
    ("layer normalisation", "pre-LN" if cfg.norm_first else "post-LN (the paper's)"),
    ("epochs, warm-up steps", f"{cfg.epochs}, {cfg.warmup}"),
    ("label smoothing", cfg.label_smoothing),
])

# %% [markdown]
# ## The architecture at a glance
#
# > Most competitive neural sequence transduction models have an encoder-decoder
# > structure. Here, the encoder maps an input sequence of symbol representations
# > $(x_1, \dots, x_n)$ to a sequence of continuous representations
# > $\mathbf{z} = (z_1, \dots, z_n)$. Given $\mathbf{z}$, the decoder then generates an
# > output sequence $(y_1, \dots, y_m)$ of symbols one element at a time. At each step
# > the model is auto-regressive, consuming the previously generated symbols as
# > additional input when generating the next. (§3)
#
# That is the encoder–decoder of Chapter {doc}`07_seq2seq_attention`. What is new is
# inside the two boxes. The encoder is a stack of $N$ identical layers, each a
# multi-head **self-attention** followed by a position-wise **feed-forward network**;
# the decoder's layers have a third sub-layer between the two, **cross-attention**
# from the target positions to the encoder's output. Every sub-layer maps a
# (batch × length × $d_\text{model}$) tensor to one of the same shape, so the layers
# stack freely. The two kinds of sub-layer split the work: attention finds *which*
# positions are related and moves information between them; the feed-forward network
# then transforms what arrived, at each position on its own.
# {numref}`fig-transformer-architecture` draws the whole model, with this chapter's
# sizes.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The Transformer as this chapter builds it, with the sizes of its translation model. The encoder (left) and the decoder (right) are stacks of $N$ identical layers. Every sub-layer is wrapped post-LN, as in the paper and by default here: a residual path skips the sub-layer and LayerNorm follows the addition, $\\mathrm{LayerNorm}(x + \\mathrm{Sublayer}(x))$. The encoder's self-attention and the decoder's cross-attention mask the source's padding; the decoder's self-attention is causal. The cross-attention's keys and values are the encoder's output $\\mathbf{z}$. The output layer is the target embedding's matrix (tied). The inset shows pre-LN, the variant that `norm_first=True` selects.", "name": "fig-transformer-architecture"}, "image": {"alt": "The encoder-decoder Transformer drawn from bottom to top. On each side, token ids go through a blue embedding scaled by the square root of d_model, and sinusoidal positions are added. The encoder stack, marked layer times N, holds an orange self-attention box (mask: source padding), a purple Add and LayerNorm box, a green feed-forward box and another Add and LayerNorm, with residual arrows skipping each sub-layer into its Add and LayerNorm. The decoder stack holds masked self-attention (mask: causal), cross-attention whose keys and values come from the encoder output z (mask: source padding) and a feed-forward network, each followed by Add and LayerNorm. A red output box, the tied linear layer and softmax, gives P(y_t given y before t and x). An inset at the top left compares post-LN, LayerNorm(x + Sublayer(x)), with pre-LN, x + Sublayer(LayerNorm(x)) plus a final LayerNorm."}}
import n2t.diagrams

n2t.diagrams.transformer()

# %% [markdown]
# Here is the data flow through a small, untrained model over the vocabularies of
# Chapter {doc}`07_seq2seq_attention`, with the shapes at every stage (B sentences,
# S source characters, T target words, D = $d_\text{model}$):

# %%
train_pairs = data.cmn_eng_split("train")
test_pairs = data.cmn_eng_split("test")
tokens = translation.tokenized_pairs(train_pairs)
src_vocab, tgt_vocab = translation.build_vocabs(tokens, min_freq=cfg.min_freq)
small = transformer.Transformer(src_vocab, tgt_vocab, d_model=32, num_heads=4,
                                num_encoder_layers=2, num_decoder_layers=2,
                                d_ff=64).eval()
batch = text.pair_batch(tokens[:3], src_vocab, tgt_vocab)
tgt_in = batch.tgt[:, :-1]  # <bos> y_1 … : the decoder's input, shifted by one

# %%
with torch.no_grad():
    x = small.src_embed(batch.src)
    memory, src_mask = small.encode(batch.src, batch.src_lengths)
    y = small.tgt_embed(tgt_in)
    hidden = small.decoder(y, memory, None, src_mask)
    logits = small.out(hidden)
shapes = {"source ids (B, S)": batch.src, "source vectors (B, S, D)": x,
          "encoder output z (B, S, D)": memory, "target ids (B, T)": tgt_in,
          "target vectors (B, T, D)": y, "decoder output (B, T, D)": hidden,
          "logits (B, T, vocabulary)": logits}
markdown_table(["stage", "shape"],
               [(stage, str(tuple(v.shape))) for stage, v in shapes.items()])

# %% [markdown]
# ## Positional encoding
#
# > Since our model contains no recurrence and no convolution, in order for the model
# > to make use of the order of the sequence, we must inject some information about
# > the relative or absolute position of the tokens in the sequence. (§3.5)
#
# Chapter {doc}`09_self_attention` showed why: self-attention is *permutation
# equivariant*. Shuffle the input positions and the outputs are shuffled the same way,
# nothing else changes. An encoder layer on its own inherits this:

# %%
layer = transformer.EncoderLayer(d_model=32, num_heads=4, d_ff=64, dropout=0.0)
words = torch.randn(1, 6, 32)
shuffle = torch.tensor([3, 0, 5, 1, 4, 2])
with torch.no_grad():
    assert torch.allclose(layer(words)[:, shuffle], layer(words[:, shuffle]), atol=1e-6)

# %% [markdown]
# To "the dog bit the man" and "the man bit the dog" such a layer gives the same set
# of vectors. The paper adds to each embedding a vector that depends on the position
# only, built from sines and cosines of geometrically spaced frequencies:
#
# $$
# \mathrm{PE}_{(pos, 2i)} = \sin\!\big(pos / 10000^{2i/d_\text{model}}\big), \qquad
# \mathrm{PE}_{(pos, 2i+1)} = \cos\!\big(pos / 10000^{2i/d_\text{model}}\big).
# $$
#
# ```{literalinclude} ../lib/n2t/positions.py
# :start-after: excerpt begins sinusoidal_table
# :end-before: excerpt ends
# :caption: lib/n2t/positions.py — sinusoidal_table
# ```

# %% mystnb={"figure": {"caption": "The sinusoidal positional encodings of positions 0–99 for d_model = 128. Each row is the vector added to the embedding at that position; the first dimensions oscillate fast, the last ones barely change over a hundred positions.", "name": "fig-pe-heatmap"}, "image": {"alt": "A heatmap with position on the vertical axis and encoding dimension on the horizontal axis. Stripes alternate quickly on the left and widen towards the right, where the colour becomes nearly constant down the column."}}
pe = positions.sinusoidal_table(100, 128)
ax = n2t.plot.heatmap(pe, xlabel="dimension", ylabel="position", cmap="RdBu",
                      vmin=-1, vmax=1)
ax.set_xticks(range(0, 128, 16), range(0, 128, 16))
ax.set_yticks(range(0, 100, 10), range(0, 100, 10))
plt.show()

# %% [markdown]
# Each pair of dimensions $(2i, 2i+1)$ is a point on the unit circle that turns at
# its own angular speed $\omega_i = 10000^{-2i/d_\text{model}}$ as the position grows,
# with wavelengths $2\pi / \omega_i$ from $2\pi$ positions up to almost
# $10000 \cdot 2\pi$. The paper's reason for this choice:
#
# > We chose this function because we hypothesized it would allow the model to easily
# > learn to attend by relative positions, since for any fixed offset $k$,
# > $PE_{pos+k}$ can be represented as a linear function of $PE_{pos}$. (§3.5)
#
# The linear function is a rotation. By the angle-sum formulas,
# $\sin(\omega(p+k)) = \sin(\omega p)\cos(\omega k) + \cos(\omega p)\sin(\omega k)$
# and $\cos(\omega(p+k)) = \cos(\omega p)\cos(\omega k) - \sin(\omega p)\sin(\omega
# k)$, so each pair is turned by the angle $\omega_i k$, and the whole vector by a
# block-diagonal matrix $\mathbf{M}_k$ that does not depend on the position:
#
# $$
# \mathrm{PE}_{pos+k} = \mathrm{PE}_{pos}\,\mathbf{M}_k, \qquad
# \mathbf{M}_k = \operatorname{diag}\!\left(
# \begin{bmatrix}\cos \omega_i k & -\sin \omega_i k \\
# \sin \omega_i k & \cos \omega_i k\end{bmatrix}\right)_{i=0}^{d_\text{model}/2-1}.
# $$

# %%
def shift_matrix(k, d_model):
    """M_k: row vector PE(pos) times M_k is PE(pos + k), for every pos."""
    omega = 1.0 / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    m = torch.zeros(d_model, d_model)
    for i, w in enumerate(omega):
        c, s = torch.cos(w * k), torch.sin(w * k)
        m[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = torch.tensor([[c, -s], [s, c]])
    return m


k = 5
m_k = shift_matrix(k, 128)
shift_error = (pe[:-k] @ m_k - pe[k:]).abs().max().item()
assert shift_error < 1e-4
assert torch.allclose(m_k @ m_k.T, torch.eye(128), atol=1e-5)  # a rotation
m_k[:4, :4]

# %% tags=["remove-cell"]
glue("shift_k", k)
glue("shift_error", shift_error)

# %% [markdown]
# For every one of the positions, $\mathrm{PE}_{pos}\,\mathbf{M}_{5}$ equals
# $\mathrm{PE}_{pos+5}$ to within {glue:text}`shift_error:.1e` (float32 rounding), and
# $\mathbf{M}_5$ is orthogonal: shifting by $k$ positions is one fixed rotation. A
# dot product between two positions' encodings then depends only on their distance,
# $\mathrm{PE}_p \cdot \mathrm{PE}_{p+k} = \sum_i \cos(\omega_i k)$. That makes "the
# word two places back" something attention *can learn* to find wherever it is; it is
# not given: attention scores compare $\mathbf{W}_q$ and $\mathbf{W}_k$ projections of
# embedding plus encoding, whose dot products need not depend on the distance alone.
#
# > We also experimented with using learned positional embeddings instead, and found
# > that the two versions produced nearly identical results. We chose the sinusoidal
# > version because it may allow the model to extrapolate to sequence lengths longer
# > than the ones encountered during training. (§3.5)
#
# Learned positions {cite:p}`gehring2017` are one trained vector per position, a
# table as long as the longest sequence foreseen. BERT and GPT use them. Our
# `LearnedPositions` starts its vectors at standard deviation 0.02, as BERT and GPT-2
# do; but those models start their token embeddings at 0.02 too, while ours are scaled
# to unit size (see the embeddings below). At the start our learned positions are
# therefore about fifty times weaker than the tokens they are added to, where the
# sinusoids are about as strong, so in the experiment that follows the two kinds
# differ in scale as well as in kind. `LearnedPositions` refuses a longer input, with
# an error that names both lengths:

# %%
learned = positions.LearnedPositions(max_len=16, d_model=32)
try:
    learned(torch.zeros(1, 20, 32))
except ValueError as error:
    print(error)

# %% [markdown]
# "May allow the model to extrapolate" is a hypothesis we can test cheaply. The
# *look-back task*: a sequence of random tokens goes in, and at every position the
# model must output the token `back` positions earlier. It needs position (which token
# is two places back?) and nothing else. We train two small causal Transformers, one
# with each kind of position, on sequences of length `pe_train_len` only, then test
# them on longer ones. The learned table is made long enough for the test, so its
# rows past the training length exist, but no gradient ever reached them.

# %%
def look_back_batch(generator, batch_size, length):
    """Random tokens and, as targets, the token `cfg.back` positions earlier."""
    x = torch.randint(0, cfg.toy_vocab, (batch_size, length), generator=generator)
    y = torch.full_like(x, -100)  # -100: no target (cross_entropy's ignore_index)
    y[:, cfg.back:] = x[:, :-cfg.back]
    return x, y


def train_look_back(positions, layers, steps, d_model, norm_first=False,
                    lr=1e-3, warmup=0, seed=0):
    """Train a causal Transformer on the look-back task; returns it and its losses."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = transformer.DecoderOnly(
        cfg.toy_vocab, d_model, num_heads=2, num_layers=layers, d_ff=4 * d_model,
        max_len=max(cfg.pe_test_lens), dropout=0.0, norm_first=norm_first,
        positions=positions, activation="relu")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    ramp = (lambda step: min(1.0, (step + 1) / warmup)) if warmup else (lambda s: 1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, ramp)
    losses = []
    for _ in range(steps):
        x, y = look_back_batch(generator, cfg.toy_batch, cfg.pe_train_len)
        loss = F.cross_entropy(model.logits(model(x)).flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return model.eval(), losses


# %%
@torch.no_grad()
def look_back_accuracy(model, length, only_new=False, seed=1):
    """Accuracy on test sequences of `length`; only_new: positions past training."""
    x, y = look_back_batch(torch.Generator().manual_seed(seed), 200, length)
    keep = y >= 0
    if only_new:
        keep[:, : cfg.pe_train_len] = False
    return (model.logits(model(x)).argmax(-1)[keep] == y[keep]).float().mean().item()


start = time.process_time()
position_models = {
    kind: train_look_back(kind, 2, cfg.pe_steps, cfg.pe_d_model)[0]
    for kind in ("sinusoidal", "learned")
}
pe_cpu_seconds = time.process_time() - start

# %% mystnb={"figure": {"caption": "Look-back accuracy of two small causal Transformers trained on sequences of one length (dashed line) and tested on sequences of every length, with sinusoidal and with learned positions. Solid: all positions of the test sequences; dotted: only the positions beyond the training length.", "name": "fig-pe-extrapolation"}, "image": {"alt": "Accuracy against test sequence length for the two kinds of position. Both are near perfect up to the training length marked by a dashed vertical line and fall beyond it; the dotted curves for the new positions alone lie lower."}}
fig, ax = plt.subplots()
accuracy = {}
for (kind, model), colour in zip(position_models.items(), n2t.plot.PALETTE,
                                 strict=False):
    lengths = list(cfg.pe_test_lens)
    accuracy[kind] = [look_back_accuracy(model, n) for n in lengths]
    longer = [n for n in lengths if n > cfg.pe_train_len]
    accuracy[kind, "new"] = [look_back_accuracy(model, n, True) for n in longer]
    ax.plot(lengths, accuracy[kind], "o-", color=colour,
            label=f"{kind}: all positions")
    ax.plot(longer, accuracy[kind, "new"], "s:", color=colour,
            label=f"{kind}: positions > {cfg.pe_train_len}")
ax.axvline(cfg.pe_train_len, color="grey", linestyle="--")
ax.set(xlabel="test sequence length", ylabel="look-back accuracy", ylim=(0, 1.05))
ax.legend()
plt.show()

# %% tags=["remove-cell"]
glue("pe_train_len", cfg.pe_train_len)
glue("pe_steps", cfg.pe_steps)
glue("pe_cpu_seconds", pe_cpu_seconds)
glue("pe_longest", max(cfg.pe_test_lens))
for kind in ("sinusoidal", "learned"):
    at_train = accuracy[kind][list(cfg.pe_test_lens).index(cfg.pe_train_len)]
    glue(f"pe_{kind}_train", 100 * at_train)
    glue(f"pe_{kind}_new_first", 100 * accuracy[kind, "new"][0])
    glue(f"pe_{kind}_new_last", 100 * accuracy[kind, "new"][-1])
glue("pe_first_longer", min(n for n in cfg.pe_test_lens if n > cfg.pe_train_len))
glue("chance", 100 / cfg.toy_vocab)

# %% [markdown]
# Both models learn the task at the training length
# ({glue:text}`pe_sinusoidal_train:.1f`%
# with sinusoidal positions, {glue:text}`pe_learned_train:.1f`% with learned ones, after
# {glue:text}`pe_steps` steps and {glue:text}`pe_cpu_seconds:.0f` CPU seconds for the
# pair). On the positions that lie beyond anything seen in training, at test length
# {glue:text}`pe_first_longer`, the sinusoidal model gets
# {glue:text}`pe_sinusoidal_new_first:.1f`% right and the learned one
# {glue:text}`pe_learned_new_first:.1f`%; at length {glue:text}`pe_longest`,
# {glue:text}`pe_sinusoidal_new_last:.1f`% and {glue:text}`pe_learned_new_last:.1f`%
# (chance is {glue:text}`chance:.1f`%). The learned model has no information at all
# about its unseen positions: their vectors are still the random initialisation.
# The sinusoidal model has well-defined vectors there, related to the trained ones by
# the rotations above, but it has never seen them either: nothing in training forces
# it to rely on relative offsets rather than on the absolute positions it saw, and
# the vectors of new positions, added to the embeddings, are inputs unlike any in
# training. The paper's "may allow the model to extrapolate" is a possibility, not a
# guarantee; later position schemes (relative positions, rotary embeddings, ALiBi)
# were designed to extrapolate better.
#
# ## The position-wise feed-forward network
#
# > In addition to attention sub-layers, each of the layers in our encoder and decoder
# > contains a fully connected feed-forward network, which is applied to each position
# > separately and identically. This consists of two linear transformations with a
# > ReLU activation in between. (§3.3)
#
# $$
# \operatorname{FFN}(x) = \max(0,\; x\mathbf{W}_1 + b_1)\,\mathbf{W}_2 + b_2,
# $$
#
# with $d_\text{model} = 512$ in and out and an inner width $d_\text{ff} = 2048$ in
# the paper, four times wider.
#
# ```{literalinclude} ../lib/n2t/transformer.py
# :pyobject: FeedForward.forward
# :caption: lib/n2t/transformer.py — FeedForward
# ```
#
# "Separately and identically" means the same network runs at every position with no
# exchange between positions, which we check by applying it one position at a time:

# %%
ffn = transformer.FeedForward(d_model=32, d_ff=128, dropout=0.0)
h = torch.randn(2, 7, 32)
with torch.no_grad():
    one_at_a_time = torch.stack([ffn(h[:, t]) for t in range(7)], dim=1)
assert torch.allclose(ffn(h), one_at_a_time, atol=1e-6)

# %%
paper_layers = {"encoder layer": transformer.EncoderLayer(512, 8, 2048),
                "decoder layer": transformer.DecoderLayer(512, 8, 2048)}
ffn_shares = {name: count_parameters(layer.ffn) / count_parameters(layer)
              for name, layer in paper_layers.items()}
markdown_table(["the paper's base model", "parameters", "in the FFN"],
               [(name, f"{count_parameters(layer):,}", f"{ffn_shares[name]:.0%}")
                for name, layer in paper_layers.items()])

# %% tags=["remove-cell"]
glue("ffn_share", 100 * ffn_shares["encoder layer"])
glue("ffn_share_decoder", 100 * ffn_shares["decoder layer"])
glue("paper_layer_params", count_parameters(paper_layers["encoder layer"]))

# %% [markdown]
# In one encoder layer of the paper's base model the feed-forward network holds
# {glue:text}`ffn_share:.0f`% of the {glue:text}`paper_layer_params:,` parameters, and
# in a decoder layer, which adds cross-attention, {glue:text}`ffn_share_decoder:.0f`%:
# attention decides where information flows, and the per-position networks hold a
# large part of the model's capacity.
#
# ## Residual connections and layer normalisation
#
# > We employ a residual connection around each of the two sub-layers, followed by
# > layer normalization. That is, the output of each sub-layer is
# > $\mathrm{LayerNorm}(x + \mathrm{Sublayer}(x))$, where $\mathrm{Sublayer}(x)$ is the
# > function implemented by the sub-layer itself. To facilitate these residual
# > connections, all sub-layers in the model, as well as the embedding layers, produce
# > outputs of dimension $d_\text{model} = 512$. (§3.1)
#
# The residual connection {cite:p}`he2016` gives the gradient a path around every
# sub-layer; layer normalisation {cite:p}`ba2016` rescales each position's vector to
# zero mean and unit variance over its $d_\text{model}$ features, then applies a
# learned gain and bias. Why not batch normalisation {cite:p}`ioffe2015`, the standard
# in vision at the time? BatchNorm averages each feature over the *batch* (and here
# over the positions too), so a sentence's output depends on which other sentences,
# and how much padding, share its batch. The same sentence in two batches:

# %%
d = 16
batch_norm, layer_norm = nn.BatchNorm1d(d), nn.LayerNorm(d)
sentence = torch.randn(1, 5, d)
batch_a = torch.cat([sentence, torch.randn(3, 5, d)])
batch_b = torch.cat([sentence, 3 * torch.randn(3, 5, d) + 1])


def bn(x):  # BatchNorm1d wants (batch, features, time)
    return batch_norm(x.transpose(1, 2)).transpose(1, 2)


bn_gap = (bn(batch_a)[0] - bn(batch_b)[0]).abs().max().item()
ln_gap = (layer_norm(batch_a)[0] - layer_norm(batch_b)[0]).abs().max().item()
assert bn_gap > 0.1 and ln_gap == 0.0
bn_gap, ln_gap

# %% tags=["remove-cell"]
glue("bn_gap", bn_gap)

# %% [markdown]
# In training mode BatchNorm changes the sentence's vectors by up to
# {glue:text}`bn_gap:.2f` depending on its batch-mates; LayerNorm gives exactly the same
# output. (At test time BatchNorm would switch to running averages, a second source of
# mismatch between training and use.) LayerNorm normalises each position by itself,
# so padding, batch size and batch composition never matter.
#
# Where the normalisation sits matters too. The paper normalises *after* adding the
# residual (**post-LN**). Moving it to the input of each sub-layer, **pre-LN**
# $x + \mathrm{Sublayer}(\mathrm{LayerNorm}(x))$, leaves the residual path from the
# embeddings to the output untouched. {cite:t}`xiong2020` showed that post-LN's
# gradients near the output are large at initialisation, which is why it needs the
# learning-rate *warm-up* of §5.3 below, while pre-LN trains without it. Our layers
# take either (`norm_first`), with one function for both:
#
# ```{literalinclude} ../lib/n2t/transformer.py
# :pyobject: residual
# :caption: lib/n2t/transformer.py — residual
# ```
#
# An experiment on a deep stack ({glue:text}`ln_layers` layers, the look-back task,
# the same peak learning rate of {glue:text}`ln_lr` for all four runs), with and
# without a linear warm-up over the first {glue:text}`ln_warmup` steps:

# %%
start = time.process_time()
ln_losses, ln_keys = {}, {}
for norm_first in (False, True):
    for warmup in (0, cfg.ln_warmup):
        name = f"{'pre' if norm_first else 'post'}-LN, warm-up {warmup}"
        kind = "pre" if norm_first else "post"
        ln_keys[name] = f"ln_{kind}_{'warm' if warmup else 'cold'}"
        ln_losses[name] = train_look_back(
            "sinusoidal", cfg.ln_layers, cfg.ln_steps, cfg.ln_d_model,
            norm_first=norm_first, lr=cfg.ln_lr, warmup=warmup)[1]
ln_cpu_seconds = time.process_time() - start

# %% mystnb={"figure": {"caption": "Training loss on the look-back task of a deep causal Transformer, post-LN and pre-LN, with and without learning-rate warm-up (loss averaged over 10 steps). The dashed line is the loss of a uniform guess, ln of the vocabulary size.", "name": "fig-post-pre-ln"}, "image": {"alt": "Four training-loss curves against the step. The dashed horizontal line marks the loss of a uniform guess; the curves that learn fall below it, a curve that does not learn stays on it."}}
fig, ax = plt.subplots()
for name, losses in ln_losses.items():
    window = min(10, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(np.arange(window, len(losses) + 1), smooth, label=name)
ax.axhline(np.log(cfg.toy_vocab), color="grey", linestyle="--")
ax.set(xlabel="training step", ylabel="cross-entropy (nats)")
ax.legend()
plt.show()

# %%
final_loss = {name: float(np.mean(losses[-10:])) for name, losses in ln_losses.items()}
markdown_table(["stack", "final loss (last 10 steps)"],
               [(name, f"{loss:.2f}") for name, loss in final_loss.items()])

# %% tags=["remove-cell"]
glue("ln_layers", cfg.ln_layers)
glue("ln_lr", cfg.ln_lr)
glue("ln_warmup", cfg.ln_warmup)
glue("ln_steps", cfg.ln_steps)
glue("ln_cpu_seconds", ln_cpu_seconds)
glue("uniform_loss", float(np.log(cfg.toy_vocab)))
for name, loss in final_loss.items():
    glue(ln_keys[name], loss)
uniform = np.log(cfg.toy_vocab)
stalled = [name for name, loss in final_loss.items() if loss > 0.9 * uniform]
glue("ln_stalled", Text(", ".join(stalled) if stalled else "none"))

# %% [markdown]
# After {glue:text}`ln_steps` steps the final losses are
# {glue:text}`ln_post_cold:.2f` (post-LN, no warm-up),
# {glue:text}`ln_post_warm:.2f` (post-LN, warm-up),
# {glue:text}`ln_pre_cold:.2f` (pre-LN, no warm-up) and
# {glue:text}`ln_pre_warm:.2f` (pre-LN, warm-up); a uniform guess scores
# {glue:text}`uniform_loss:.2f`. The runs that end within 10% of the uniform guess,
# that is, that never learn the task: **{glue:text}`ln_stalled`**. The configuration
# expected to fail is post-LN without warm-up: its failure is usually not a loss that
# blows up to infinity but one that gets stuck, because the large early updates push
# the stack into a state it does not recover from. Warm-up keeps the first updates
# small until the gradients settle. The four runs took
# {glue:text}`ln_cpu_seconds:.0f` CPU seconds. We keep post-LN as the
# default, because it is the paper's model and `nn.Transformer`'s, and train it with
# warm-up; GPT-2 and most large models since use pre-LN.
#
# ## The encoder and decoder layers
#
# > The encoder is composed of a stack of $N = 6$ identical layers. Each layer has two
# > sub-layers. The first is a multi-head self-attention mechanism, and the second is
# > a simple, position-wise fully connected feed-forward network. (§3.1)
#
# With `residual`, the encoder layer is two lines. The function `attend` also serves
# the key/value cache of a later section:
#
# ```{literalinclude} ../lib/n2t/transformer.py
# :start-after: excerpt begins EncoderLayer
# :end-before: excerpt ends
# :caption: lib/n2t/transformer.py — EncoderLayer.forward
# ```
#
# > In addition to the two sub-layers in each encoder layer, the decoder inserts a
# > third sub-layer, which performs multi-head attention over the output of the
# > encoder stack. […] We also modify the self-attention sub-layer in the decoder
# > stack to prevent positions from attending to subsequent positions. This masking,
# > combined with fact that the output embeddings are offset by one position, ensures
# > that the predictions for position $i$ can depend only on the known outputs at
# > positions less than $i$. (§3.1)
#
# The cross-attention's queries come from the target positions, its keys and values
# from the encoder's output $\mathbf{z}$: it is the attention of Chapter
# {doc}`07_seq2seq_attention`, now with several heads and in every decoder layer.
#
# ```{literalinclude} ../lib/n2t/transformer.py
# :start-after: excerpt begins DecoderLayer
# :end-before: excerpt ends
# :caption: lib/n2t/transformer.py — DecoderLayer.forward
# ```
#
# The masks do what the paper says: changing a target word never changes the
# predictions at earlier positions, and changing a *padded* source position never
# changes anything.

# %%
src, lengths = batch.src, batch.src_lengths
with torch.no_grad():
    before = small(src, lengths, tgt_in)
    later_changed = tgt_in.clone()
    later_changed[:, 3:] = tgt_vocab.unk_id
    after = small(src, lengths, later_changed)
    assert torch.allclose(before[:, :3], after[:, :3], atol=1e-5)
    padded = src.clone()
    padded[src == src_vocab.pad_id] = src_vocab["我"]  # junk where the padding is
    assert torch.allclose(small(padded, lengths, tgt_in), before, atol=1e-5)
    assert (src == src_vocab.pad_id).any()  # the batch does have padding

# %% [markdown]
# ## Embeddings and the output layer
#
# > Similarly to other sequence transduction models, we use learned embeddings to
# > convert the input tokens and output tokens to vectors of dimension
# > $d_\text{model}$. […] In our model, we share the same weight matrix between the
# > two embedding layers and the pre-softmax linear transformation. In the embedding
# > layers, we multiply those weights by $\sqrt{d_\text{model}}$. (§3.4)
#
# Sharing the output layer with the target embedding, *weight tying*
# {cite:p}`press2017`, saves a vocabulary-sized matrix and makes a word's input and
# output vectors the same. Sharing the *source* embedding as well needs one
# vocabulary for both languages: the paper's byte-pair vocabulary was shared between
# English and German. Our Chinese characters and English words have separate
# vocabularies, so `Transformer` ties the target embedding to the output layer
# (`tie_output=True`, the default) and offers `share_embeddings` for a shared
# vocabulary. The factor $\sqrt{d_\text{model}}$ brings embeddings initialised with
# standard deviation $d_\text{model}^{-1/2}$ to unit scale, the scale of the positional
# encodings; the paper adds dropout to the sum:
#
# ```{literalinclude} ../lib/n2t/positions.py
# :start-after: excerpt begins Embeddings
# :end-before: excerpt ends
# :caption: lib/n2t/positions.py — Embeddings.forward
# ```

# %%
tied = sum(p.numel() for p in small.parameters())
untied = transformer.Transformer(src_vocab, tgt_vocab, d_model=32, num_heads=4,
                                 num_encoder_layers=2, num_decoder_layers=2,
                                 d_ff=64, tie_output=False)
assert small.out.weight is small.tgt_embed.token.weight
tied, count_parameters(untied)

# %% [markdown]
# ## Checking against PyTorch
#
# PyTorch ships the paper's architecture as `nn.Transformer`: the two stacks, without
# embeddings or output layer. With the same weights copied in, ours must compute the
# same function, post-LN and pre-LN, with a padding mask on the source and the causal
# mask plus padding on the target. (`nn.Transformer` always ends each stack with a
# final LayerNorm; ours adds one with `final_norm=True`, and by default only for
# pre-LN, where it is needed.) Our masks say where attention *may* look, PyTorch's
# where it may not, hence the `~`:

# %%
parity_error = 0.0
for norm_first in (False, True):
    torch.manual_seed(0)
    theirs = nn.Transformer(32, 4, 2, 2, 64, dropout=0.0, batch_first=True,
                            norm_first=norm_first)
    encoder = transformer.Encoder(2, 32, 4, 64, 0.0, norm_first, final_norm=True)
    decoder = transformer.Decoder(2, 32, 4, 64, 0.0, norm_first, final_norm=True)
    encoder.load_torch_weights(theirs.encoder)
    decoder.load_torch_weights(theirs.decoder)
    x, y = torch.randn(3, 7, 32), torch.randn(3, 5, 32)
    src_real = torch.arange(7) < torch.tensor([[7], [4], [2]])  # True = real token
    tgt_real = torch.arange(5) < torch.tensor([[5], [3], [5]])
    expected = theirs(x, y, src_key_padding_mask=~src_real, tgt_mask=~causal_mask(5),
                      tgt_key_padding_mask=~tgt_real, memory_key_padding_mask=~src_real)
    ours = decoder(y, encoder(x, src_real), tgt_real, src_real)
    parity_error = max(parity_error, (ours - expected).abs().max().item())
assert parity_error < 1e-5
parity_error

# %% tags=["remove-cell"]
glue("parity_error", parity_error)

# %% [markdown]
# The largest difference over both variants is {glue:text}`parity_error:.1e`. The
# test suite (`tests/test_transformer.py`) repeats the check with other sizes and
# checks that it *can* fail: one changed weight gives a different output.
#
# ## Training on Chinese → English
#
# > We used the Adam optimizer with $\beta_1 = 0.9$, $\beta_2 = 0.98$ and
# > $\epsilon = 10^{-9}$. We varied the learning rate over the course of training,
# > according to the formula:
# > $lrate = d_\text{model}^{-0.5} \cdot \min(step\_num^{-0.5},\; step\_num \cdot
# > warmup\_steps^{-1.5})$. This corresponds to increasing the learning rate linearly
# > for the first $warmup\_steps$ training steps, and decreasing it thereafter
# > proportionally to the inverse square root of the step number. (§5.3)
#
# > During training, we employed label smoothing of value $\epsilon_{ls} = 0.1$. This
# > hurts perplexity, as the model learns to be more unsure, but improves accuracy
# > and BLEU score. (§5.4)
#
# Label smoothing {cite:p}`szegedy2016` trains against a target distribution that
# puts $1 - \epsilon_{ls}$ on the reference word and spreads $\epsilon_{ls}$ over the
# whole vocabulary, so the model is never pushed to infinite confidence;
# `F.cross_entropy(..., label_smoothing=0.1)` does it. Training is teacher-forced, as
# in Chapter {doc}`07_seq2seq_attention`, but now *all* target positions are
# computed in one parallel pass: the causal mask, not a loop, keeps each position
# from seeing its future. Our schedule, `n2t.train.warmup_inverse_sqrt`, is the
# formula times the factor `lr`:

# %% mystnb={"figure": {"caption": "The learning-rate schedule of the translation model: linear warm-up, then decay as the inverse square root of the step.", "name": "fig-schedule"}, "image": {"alt": "A curve of learning rate against training step that rises in a straight line to a peak at the end of warm-up, then decays slowly."}}
probe = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=cfg.lr)
schedule = warmup_inverse_sqrt(probe, cfg.d_model, cfg.warmup)
steps = 5 * cfg.warmup
rates = []
for _ in range(steps):
    rates.append(probe.param_groups[0]["lr"])
    probe.step()
    schedule.step()
n2t.plot.curves({"lr": (range(1, steps + 1), rates)}, xlabel="training step",
                ylabel="learning rate", marker=None)
plt.show()

# %% [markdown]
# The translation model comes from the zoo, trained with the settings above on the
# same training split as Chapter {doc}`07_seq2seq_attention`'s models, with the same
# vocabularies and batches of sentences of similar length. The recipe
# (`transformer.train_transformer`) also decodes and scores the test set, greedily and
# with a beam of 4, exactly as Chapter 7's recipe does.

# %%
artefact = zoo.get("transformer-zh-en")
model = transformer.model_from_state(artefact.state)
f"{count_parameters(model):,} parameters"

# %% tags=["remove-cell"]
# "the same vocabularies" as Chapter 7's models, as the text says
chapter7 = zoo.get("seq2seq-attention-zh-en")
chapter7_vocabs = translation.vocabs_from_state(chapter7.state)
assert [v.itos for v in chapter7_vocabs] == [model.src_vocab.itos, model.tgt_vocab.itos]

# %% [markdown]
# ## Decoding, step by step
#
# At inference the decoder is autoregressive: it starts from `<bos>`, predicts a
# distribution over the next word, appends the chosen word to its input, and repeats
# until `<eos>`. Here is greedy decoding of the seed sentence, with the three most
# probable words at every step:

# %%
seed_zh, seed_en = "我是一个学生。", "I am a student."
source_ids = torch.tensor([model.src_vocab.encode(text.chinese_tokenize(seed_zh))])
state = model.start(source_ids, torch.tensor([source_ids.shape[1]]))
token, rows, output = torch.tensor([model.tgt_vocab.bos_id]), [], []
with torch.no_grad():
    for step in range(model.max_output_length(source_ids.shape[1])):
        log_probs, state = model.step(token, state)
        log_probs[:, model.banned_ids()] = float("-inf")  # never <pad>, <bos>
        top = log_probs[0].exp().topk(3)
        candidates = [f"`{model.tgt_vocab.itos[i]}` {p:.2f}"
                      for p, i in zip(top.values.tolist(), top.indices.tolist(),
                                      strict=True)]
        token = top.indices[:1]
        rows.append((step + 1, " · ".join(candidates)))
        if token.item() == model.tgt_vocab.eos_id:
            break
        output.append(model.tgt_vocab.itos[token.item()])
markdown_table(["step", "three most probable next words (probability)"], rows)

# %%
seed_translation = translation.detokenize(output)
assert seed_translation == model.translate([seed_zh])[0]
seed_translation

# %% [markdown]
# Which source characters did the decoder look at while writing each word? Every
# decoder layer has its own cross-attention, with several heads; here are the heads
# of the last layer as the model reads its own translation:

# %% mystnb={"figure": {"caption": "Cross-attention weights of the translation Transformer's last decoder layer, one panel per head, while it writes its translation of the seed sentence (rows: the English word being predicted, after reading the words above it; columns: Chinese source characters).", "name": "fig-cross-attention"}, "image": {"alt": "Several small heatmaps, one per attention head, with the Chinese characters of the seed sentence along the bottom and the English output words down the side; each head concentrates its weight on different characters."}}
weights = model.alignment(seed_zh, output)  # (heads, T, S)
heads = weights.shape[0]
fig, axes = plt.subplots(1, heads, figsize=(2.6 * heads + 1, 3.2), sharey=True)
for head, ax in enumerate(np.atleast_1d(axes)):
    n2t.plot.heatmap(weights[head], xlabels=text.chinese_tokenize(seed_zh),
                     ylabels=[*output, "<eos>"], xlabel="source character",
                     ylabel="predicted word" if head == 0 else "",
                     title=f"head {head + 1}", colorbar=False, vmin=0, vmax=1, ax=ax)
    ax.tick_params(axis="x", labelrotation=0)
plt.show()

# %% [markdown]
# Unlike Chapter 7's single attention, these heads need not each form an alignment.
# Heads of trained Transformers typically specialise: some concentrate on the source
# word being translated, others spread over the sentence or settle on punctuation, a
# kind of "no particular place" default also seen in BERT {cite:p}`clark2019`.
# Between them, and over the layers, the decoder gathers what it needs.
#
# ## Incremental decoding with a key/value cache
#
# At step $t$ the decoder needs the keys and values of positions $1 \dots t$ in every
# self-attention, and the encoder output's keys and values in every cross-attention.
# Recomputing the whole prefix at every step repeats all the earlier work: for an
# output of length $T$ that is $O(T^2)$ position-passes through the decoder instead of
# $T$. The positions before $t$ never change, because of the causal mask, so their
# keys and values can be kept. A *key/value cache* (`KVCache`) stores them for each
# attention of each layer; each step runs only the new token through the decoder and
# `MultiHeadAttention` appends its key and value (in cross-attention the encoder
# output's keys and values are projected once, at the first step, and reused):
#
# ```{literalinclude} ../lib/n2t/attention.py
# :pyobject: MultiHeadAttention._keys_values
# :caption: lib/n2t/attention.py — MultiHeadAttention._keys_values
# ```
#
# The new queries then see the cached positions and themselves. Whether to decode with
# a cache is a choice made when decoding starts, `start(src, lengths, use_cache)`, not a
# property of the model; the model's `step`, which `n2t.decoding` drives, does one or
# the other:
#
# ```{literalinclude} ../lib/n2t/transformer.py
# :start-after: excerpt begins step
# :end-before: excerpt ends
# :caption: lib/n2t/transformer.py — Transformer.step
# ```
#
# The caches are batch-first, so beam search reorders them with the rest of the
# state. The cache must not change the outputs, greedy or beam. It changes the
# arithmetic (the same sums in another order), so log-probabilities agree up to float
# rounding, about $10^{-6}$; the chosen words agree unless two candidates tie that
# closely:

# %%
test_sources = [zh for zh, _ in test_pairs[: cfg.test_pairs]]
test_references = [en for _, en in test_pairs[: cfg.test_pairs]]
some = test_sources[:20]
by_mode = {}
for use_cache in (True, False):
    by_mode[use_cache] = (model.translate(some, use_cache=use_cache),
                          model.translate(some, beam_size=4, use_cache=use_cache))
assert by_mode[True] == by_mode[False]

# %% [markdown]
# How much time does it save? We make the model write outputs of fixed lengths (an
# end-of-sentence id that can never be chosen keeps it going) for one sentence, with
# and without the cache:

# %%
def decode_seconds(use_cache, length, repeats=3):
    """Best-of-`repeats` seconds to decode `length` tokens greedily for one sentence."""
    never = len(model.tgt_vocab)  # an id no step can emit
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        state = model.start(source_ids, torch.tensor([source_ids.shape[1]]), use_cache)
        out = decoding.greedy(model.step, state, model.tgt_vocab.bos_id, never, length)
        best = min(best, time.perf_counter() - start)
    assert len(out[0]) == length
    return best


timings = {n: (decode_seconds(True, n), decode_seconds(False, n))
           for n in cfg.cache_lengths}
markdown_table(["output tokens", "with cache (s)", "recomputing (s)", "speed-up"],
               [(n, f"{a:.3f}", f"{b:.3f}", f"{b / a:.1f}×")
                for n, (a, b) in timings.items()])

# %% mystnb={"figure": {"caption": "Seconds to decode one sentence greedily, against the number of output tokens, with the key/value cache and recomputing the whole prefix at every step (both axes logarithmic).", "name": "fig-kv-cache"}, "image": {"alt": "Two lines of decoding time against output length on log-log axes. The line without cache rises more steeply than the line with the cache, and the gap widens with length."}}
n2t.plot.curves({"with cache": (list(timings), [a for a, _ in timings.values()]),
                 "recomputing": (list(timings), [b for _, b in timings.values()])},
                xlabel="output tokens", ylabel="seconds", logx=True, logy=True)
plt.show()

# %% tags=["remove-cell"]
longest = max(timings)
glue("cache_longest", longest)
glue("cache_speedup", timings[longest][1] / timings[longest][0])
glue("cache_shortest", min(timings))
glue("cache_speedup_short", timings[min(timings)][1] / timings[min(timings)][0])
glue("bleu_signature", Text(metrics.signature("bleu")))
glue("chrf_signature", Text(metrics.signature("chrf")))

# %% [markdown]
# The speed-up grows with the output: {glue:text}`cache_speedup_short:.1f`× for
# {glue:text}`cache_shortest` tokens and {glue:text}`cache_speedup:.1f`× for
# {glue:text}`cache_longest`. Recomputation costs a number of position-passes that
# grows with the square of the length, the cache one that grows linearly (the
# attention over the cached keys still grows, but it is a small part of the work at
# these lengths). Translations of Tatoeba's short sentences are a dozen words long,
# where the cache saves less; for a language model writing pages of text it is
# indispensable, at the price of memory: two vectors per layer and position.
#
# ## Results: the Transformer against the recurrent models
#
# Chapter {doc}`07_seq2seq_attention`'s two models come from the zoo (trained there,
# or here if the cache does not have them yet), scored on the same test sentences
# with the same `translate` and sacreBLEU (BLEU {glue:text}`bleu_signature`, chrF
# {glue:text}`chrf_signature`).

# %%
artefacts = {
    "GRU encoder–decoder": zoo.get("seq2seq-zh-en"),
    "GRU + attention": zoo.get("seq2seq-attention-zh-en"),
    "Transformer": artefact,
}
results = {name: a.metrics for name, a in artefacts.items()}
clock = clock_label(*(m["clock"] for m in results.values()))
markdown_table(
    ["model", "parameters", clock, "BLEU greedy", "chrF greedy",
     "BLEU beam 4", "chrF beam 4"],
    [(name, f"{m['parameters']:,}", f"{clock_seconds(m['clock']):.0f}",
      *(f"{m[key]:.1f}" for key in ("bleu_beam1", "chrf_beam1", "bleu_beam4",
                                    "chrf_beam4")))
     for name, m in results.items()],
)

# %% tags=["remove-cell"]
stored = artefact.state["test_translations"]
scored = results["Transformer"]
assert metrics.bleu(stored["1"], test_references) == scored["bleu_beam1"]
assert metrics.chrf(stored["4"], test_references) == scored["chrf_beam4"]
again = model.translate(test_sources)  # the same batches as the recipe's
same = sum(a == b for a, b in zip(again, stored["1"], strict=True))
assert same >= 0.9 * len(again), same  # up to ties broken differently by the arithmetic

# %% [markdown]
# The seconds are the book's compute clock: the processor time of training alone, on
# one thread; they depend on the machine but not on what else it was doing. The
# question of the table is which model is better *at equal training time on this
# CPU*. Equal steps or epochs would not be fair (a Transformer step and a GRU step
# cost different amounts), so we plot each model's validation loss against the
# seconds spent to reach it, read from the clock after every epoch:

# %% mystnb={"figure": {"caption": "Validation cross-entropy per target word after each epoch, against the training CPU-seconds spent so far (one thread, the book's compute clock), for the three translation models.", "name": "fig-loss-vs-time"}, "image": {"alt": "Three lines of validation loss falling with training CPU time, one per model, each with one marker per epoch."}}
series = {}
for name, a in artefacts.items():
    epochs = a.metrics["curve"]
    series[name] = ([clock_seconds(e) for e in epochs],
                    [e["valid_loss"] for e in epochs])
n2t.plot.curves(series, xlabel=clock, ylabel="validation cross-entropy (nats)")
plt.show()

# %% tags=["remove-cell"]
best = max(results, key=lambda name: results[name]["bleu_beam4"])
rnn = results["GRU + attention"]
ours = results["Transformer"]
for key, scored in (("tf", ours), ("rnn", rnn)):
    glue(f"{key}_bleu4", scored["bleu_beam4"])
    glue(f"{key}_chrf4", scored["chrf_beam4"])
    glue(f"{key}_cpu", clock_seconds(scored["clock"]))
glue("best_model", Text(best))
rnn_at_tf_time = float(np.interp(clock_seconds(ours["clock"]),
                                 *series["GRU + attention"]))
glue("rnn_loss_at_tf_time", rnn_at_tf_time)
glue("tf_final_loss", artefacts["Transformer"].state["valid_loss"][-1])
glue("bleu_gap", ours["bleu_beam4"] - rnn["bleu_beam4"])
glue("cpu_ratio", clock_seconds(ours["clock"]) / clock_seconds(rnn["clock"]))

# %% [markdown]
# With a beam of 4 the Transformer scores BLEU {glue:text}`tf_bleu4:.1f` (chrF
# {glue:text}`tf_chrf4:.1f`) after {glue:text}`tf_cpu:,.0f` training CPU-seconds,
# and the GRU with attention {glue:text}`rnn_bleu4:.1f` (chrF
# {glue:text}`rnn_chrf4:.1f`) after {glue:text}`rnn_cpu:,.0f`: the difference,
# Transformer minus GRU with attention, is {glue:text}`bleu_gap:+.1f` BLEU, with
# {glue:text}`cpu_ratio:.2f` times the training time (the figure shows the losses at
# equal times). At equal training time, the Transformer's
# {glue:text}`tf_cpu:,.0f` seconds, its validation cross-entropy is
# {glue:text}`tf_final_loss:.2f` nats per word, and the GRU with attention's,
# interpolated between its epochs, {glue:text}`rnn_loss_at_tf_time:.2f`. The best of
# the three by BLEU with beam 4 is the
# **{glue:text}`best_model`**. Two cautions. This is a small data set of short
# sentences, where the recurrent models' built-in sense of order is a useful prior
# and the Transformer's advantage at long range has little to work on. And the
# Transformer's headline advantage is not visible on two CPU cores at all: its
# training step is one parallel pass over all positions, which a GPU runs at once,
# while the GRU must walk the sentence one step at a time whatever the hardware.
# {cite:t}`vaswani2017` reported their base model trained in 12 hours on 8 GPUs to a
# better BLEU on English–German than all previous models, ensembles included, at a
# fraction of their training cost (on English–French it took their big model to beat
# the previous single models).
#
# ## What it still cannot do
#
# The Transformer learns everything it knows from the parallel sentences it is given:
# here a few ten thousand, and even in the paper a few million. Its architecture,
# though, is not tied to translation. Its encoder alone reads a text in both
# directions; its decoder alone, without cross-attention, is a language model; and
# both can be trained on plain text, of which there is vastly more than translated
# text. The next chapter pretrains the two halves on their own, BERT
# {cite:p}`devlin2019` and GPT {cite:p}`radford2018` (both in `n2t.transformer`
# already, as `EncoderOnly` and `DecoderOnly`, built from the same `EncoderLayer`),
# and the whole encoder–decoder as T5 {cite:p}`raffel2020`.
#
# ## Exercises
#
# 1. **Pre-LN translation.** Train the translation model with `norm_first=True`
#    (change the profile, or call `transformer.train_transformer` with your own
#    settings) and with a shorter warm-up. Compare the loss curves and BLEU.
# 2. **Label smoothing.** Train without label smoothing. The validation
#    cross-entropy should fall; what happens to BLEU? Explain with the paper's
#    sentence from §5.4.
# 3. **Learned positions for translation.** Build the model with
#    `positions="learned"` and `max_len` just above the longest training target, then
#    translate a longer sentence. What happens, and where in the code?
# 4. **Extrapolation.** In the look-back experiment, train on *several* lengths
#    (for example 8 to 16) instead of one. Does the sinusoidal model now extrapolate
#    further than the learned one?
# 5. **Where do the heads look?** Plot the cross-attention of every decoder layer
#    (`model.alignment(source, words, layer=i)`) for a few test sentences. Which
#    layer's heads look most like Chapter {doc}`07_seq2seq_attention`'s alignments?
# 6. **Cost of the cache.** Compute the memory of the key/value cache for our model
#    and for the paper's base model (6 layers, $d_\text{model} = 512$) for a batch of
#    64 sentences of 100 tokens, in bytes of float32.
