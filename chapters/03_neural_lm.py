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
# # Neural language models and embeddings
#
# The n-gram models of {doc}`02_ngram_models` treat every word as a symbol of its own.
# "The cat sits" teaches them nothing about "the dog sits": the two share no counts.
# This chapter gives each word a learned vector, an **embedding**, and predicts the next
# word from the vectors of the previous ones with a small neural network, the neural
# probabilistic language model of Bengio et al. {cite:p}`bengio2003`. We build it by
# hand on a toy corpus, check it against the library's version, train it on WikiText-2
# with the book's language-model harness, compare it with Kneser–Ney on the same test
# tokens, mix the two, and look at what the embeddings learned.

# %% tags=["remove-cell"]
import math
import time
import timeit
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from n2t.book import Text, glue, markdown_table
from torch import nn

import n2t.plot
from n2t import lm, ngram, nnlm, zoo
from n2t import vectors as wv
from n2t.text import EOS, UNK, Vocab
from n2t.profile import current
from n2t.clock import clock_label, clock_seconds, measured
from n2t.train import count_parameters, seed_everything

n2t.plot.use_book_style()
cfg = current().settings("neural_lm")

# %% [markdown]
# ## Why counting cannot generalise
#
# A count-based model estimates $P(\text{sits} \mid \text{the dog})$ from how often "the
# dog sits" occurred. If it never did, smoothing hands the word a share of a lower
# order's probability, the same share that any other unseen word gets. What the model
# has learned about cats does not carry over to dogs, because to the model "cat" and
# "dog" are two ids and nothing more.
#
# The one-hot vectors of {doc}`01_text_as_data` make this explicit: word $i$ is the
# vector $\mathbf{e}_i \in \{0, 1\}^{|V|}$ with a single 1, and every two different
# words are orthogonal.

# %%
vocab = lm.wikitext2_vocab()
words = ["cat", "dog", "the"]
one_hot = F.one_hot(torch.tensor(vocab.encode(words)), len(vocab)).float()
cosine = F.cosine_similarity(one_hot[:, None], one_hot[None, :], dim=-1)
cosine

# %% tags=["remove-cell"]
assert cosine[0, 1] == cosine[0, 2] == 0  # cos(cat, dog) = cos(cat, the) = 0
glue("vocab_size", len(vocab))
# Chapter 1's batch: 32 sequences of 35 tokens, one-hot in 32-bit floats
glue("one_hot_mib", 32 * 35 * len(vocab) * 4 / 2**20)

# %% [markdown]
# The cosine of "cat" and "dog" is 0, exactly the cosine of "cat" and "the". Each vector
# has {glue:text}`vocab_size:,` entries, all but one zero: a batch of 32 sequences of 35
# one-hot inputs costs {glue:text}`one_hot_mib:.0f` MiB ({doc}`01_text_as_data` measured
# it) and carries no notion of similarity.
#
# ## Embeddings: one-hot × Q is a row of Q
#
# The remedy is to map each word to a short dense vector of $m$ numbers, a row of a
# matrix $\mathbf{Q} \in \mathbb{R}^{|V| \times m}$ (Bengio et al. call it $C$).
# Multiplying a one-hot vector by $\mathbf{Q}$ picks one row, $\mathbf{e}_i^\top
# \mathbf{Q} = \mathbf{Q}_{i,:}$, so an **embedding layer** is a linear layer whose
# input happens to be one-hot. PyTorch's `nn.Embedding` skips the multiplication and
# reads the row directly:

# %%
seed_everything(0)
embedding = nn.Embedding(len(vocab), 128)  # Q: (|V|, m)
ids = torch.tensor(vocab.encode(["the", "cat", "sits", "on", "the", "mat"]))
by_product = F.one_hot(ids, len(vocab)).float() @ embedding.weight
by_lookup = embedding(ids)
assert torch.equal(by_product, by_lookup)
by_lookup.shape

# %% [markdown]
# The two are equal, but they do not cost the same. For a batch of 512 ids (the best of
# five timed runs each, after one that warms up):

# %%
batch_ids = torch.randint(0, len(vocab), (512,))
Q_weight = embedding.weight


def best_ms(step, repeats=5):
    """Milliseconds of the fastest of ``repeats`` runs of ``step``, after a warm-up."""
    with torch.no_grad():
        step()
        return 1e3 * min(timeit.repeat(step, number=1, repeat=repeats))


product_ms = best_ms(lambda: F.one_hot(batch_ids, len(vocab)).float() @ Q_weight)
lookup_ms = best_ms(lambda: embedding(batch_ids))
markdown_table(["512 ids", "milliseconds"],
               [("one-hot × Q", f"{product_ms:.2f}"), ("look-up", f"{lookup_ms:.3f}")])

# %% tags=["remove-cell"]
glue("product_ms", product_ms)
glue("lookup_ms", lookup_ms)
glue("lookup_speedup", product_ms / lookup_ms)
glue("product_macs", 512 * len(vocab) * 128)

# %% [markdown]
# The product builds a $512 \times |V|$ matrix and does {glue:text}`product_macs:,`
# multiply–adds ({glue:text}`product_ms:.1f` ms here); the lookup copies 512 rows
# ({glue:text}`lookup_ms:.2f` ms), about {glue:text}`lookup_speedup:.0f` times faster.
# The rows of $\mathbf{Q}$ start random. The neural language model learns them as a
# by-product of predicting the next word: words that predict similar continuations are
# pushed towards similar vectors.

# %% [markdown]
# ## Bengio's neural probabilistic language model
#
# The model keeps the Markov assumption of an $n$-gram model and replaces the counts by
# a function. The $n-1$ previous words $w_{t-n+1:t-1}$ are looked up in $\mathbf{Q}$ and
# concatenated into one vector $\mathbf{x}$ of length $(n-1)m$; a hidden layer of $h$
# tanh units reads it, and a softmax over the vocabulary gives the next-word
# distribution:
#
# $$
# \begin{aligned}
# \mathbf{x} &= [\mathbf{Q}_{w_{t-n+1}}; \dots; \mathbf{Q}_{w_{t-1}}], \\
# \mathbf{y} &= \mathbf{b} + \mathbf{W}\mathbf{x}
#   + \mathbf{U}\tanh(\mathbf{d} + \mathbf{H}\mathbf{x}), \\
# P(w_t = i \mid w_{t-n+1:t-1}) &= \frac{e^{y_i}}{\sum_j e^{y_j}}.
# \end{aligned}
# $$
#
# $\mathbf{H}$ ($h \times (n-1)m$) and $\mathbf{d}$ are the hidden layer, $\mathbf{U}$
# ($|V| \times h$) and $\mathbf{b}$ the output layer, and $\mathbf{W}$ ($|V| \times
# (n-1)m$) the optional **direct connections** from the embeddings to the output (Bengio
# et al. tried the model with and without them; $\mathbf{W} = 0$ removes them). All of
# it, $\mathbf{Q}$ included, is trained by gradient descent on the cross-entropy, the
# same quantity whose exponential is the perplexity. {numref}`fig-nnlm-architecture`
# draws the model with the sizes of the one trained on WikiText-2 below.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "Bengio's neural language model as this chapter builds it. Each of the $n-1$ previous words is looked up in the one embedding matrix $\\mathbf{Q}$, the rows are concatenated into $\\mathbf{x}$, a tanh hidden layer reads $\\mathbf{x}$, and a softmax over the vocabulary gives the next word's distribution. The dashed arrow is Bengio's direct connections $\\mathbf{W}\\mathbf{x}$ from $\\mathbf{x}$ to the softmax: the toy model built by hand below has them, the model trained on WikiText-2 leaves them out and uses the adaptive softmax of a later section. Sizes: the trained model's settings.", "name": "fig-nnlm-architecture"}, "image": {"alt": "A diagram drawn from bottom to top. Four previous words w(t-4) to w(t-1) each point into one embedding look-up box for the matrix Q; the four looked-up rows sit side by side as the concatenated vector x; x feeds a green box tanh(d + H x); that feeds a red softmax box computing y = b + W x + U tanh(d + H x), which gives P(w_t | w_(t-4:t-1)). A dashed grey arrow runs from x around the hidden layer straight to the softmax, labelled as the direct connections W x, left out of the trained model."}}
import n2t.diagrams

n2t.diagrams.nnlm()

# %% [markdown]
# ### By hand, on a toy corpus
#
# A corpus in which cats and dogs do similar things, but "dog sits" never occurs:

# %%
toy_text = [
    "the cat sits on the mat", "the cat runs to the door", "a cat eats fish",
    "the dog runs to the door", "a dog eats meat", "the dog sleeps on the rug",
    "the cat sleeps on the mat", "a cat sits on a chair", "the cat eats fish",
    "a dog runs", "the cat runs",
]
toy_lines = [line.split() for line in toy_text]
toy_vocab = Vocab(Counter(w for line in toy_lines for w in line), specials=(UNK, EOS))
toy_stream = torch.tensor(toy_vocab.encode([t for s in toy_lines for t in (*s, EOS)]))
len(toy_vocab), len(toy_stream)

# %% [markdown]
# As in every model of the book, the corpus is one running text with `<eos>` after each
# line. With $n = 3$ each token is predicted from the two before it; the first token
# reads `<eos>` as its context, as if the text began after a line end.

# %%
n_minus_1, m, h, V_toy = 2, 8, 16, len(toy_vocab)
eos = toy_vocab.eos_id
inputs = torch.cat([torch.full((n_minus_1,), eos), toy_stream[:-1]])
contexts = inputs.unfold(0, n_minus_1, 1)  # (tokens, n - 1): the two previous ids
targets = toy_stream
first = zip(contexts[:3], targets[:3], strict=True)
[(toy_vocab.decode(c), toy_vocab.itos[t]) for c, t in first]

# %% [markdown]
# The parameters, named as in the formula, and the formula itself:

# %%
seed_everything(0)
Q = nn.Parameter(torch.randn(V_toy, m) * 0.1)
H = nn.Parameter(torch.randn(h, n_minus_1 * m) * 0.1)
d = nn.Parameter(torch.zeros(h))
U = nn.Parameter(torch.randn(V_toy, h) * 0.1)
W = nn.Parameter(torch.zeros(V_toy, n_minus_1 * m))
b = nn.Parameter(torch.zeros(V_toy))


def bengio_logits(context):
    """y = b + W x + U tanh(d + H x) for contexts (tokens, n - 1) → (tokens, |V|)."""
    x = Q[context].flatten(-2)  # concatenate the n - 1 embeddings
    return b + x @ W.T + torch.tanh(d + x @ H.T) @ U.T


# %% [markdown]
# Training is gradient descent on the cross-entropy of every next token of the toy text:

# %%
optimizer = torch.optim.Adam([Q, H, d, U, W, b], lr=0.02)
losses = []
for _ in range(cfg.toy_steps):
    loss = F.cross_entropy(bengio_logits(contexts), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
losses[0], losses[-1]

# %% tags=["remove-cell"]
assert losses[-1] < losses[0] / 3
glue("toy_loss_start", losses[0])
glue("toy_loss_end", losses[-1])
glue("toy_ppl_end", math.exp(losses[-1]))

# %% [markdown]
# The cross-entropy falls from {glue:text}`toy_loss_start:.2f` nats per token (about
# $\ln |V|$, a uniform guess) to {glue:text}`toy_loss_end:.2f`, a perplexity of
# {glue:text}`toy_ppl_end:.2f` on the text it was trained on. The interesting part is
# $\mathbf{Q}$. Nothing told the model that cats and dogs are alike, but both are
# followed by "runs", "eats" and "sleeps", so predicting those words pulls their vectors
# together:

# %%
def toy_cosine(word, other):
    return F.cosine_similarity(Q[toy_vocab[word]], Q[toy_vocab[other]], dim=0).item()


toy_cosines = {pair: toy_cosine(*pair) for pair in
               [("cat", "dog"), ("cat", "mat"), ("cat", "fish"), ("mat", "rug")]}
markdown_table(["words", "cosine"],
               [(f"{w} – {o}", f"{c:.2f}") for (w, o), c in toy_cosines.items()])

# %% tags=["remove-cell"]
assert toy_cosines["cat", "dog"] > max(toy_cosines["cat", "mat"],
                                       toy_cosines["cat", "fish"])
glue("toy_cos_cat_dog", toy_cosines["cat", "dog"])
glue("toy_cos_cat_mat", toy_cosines["cat", "mat"])

# %% [markdown]
# cos(cat, dog) = {glue:text}`toy_cos_cat_dog:.2f`, against
# {glue:text}`toy_cos_cat_mat:.2f` for cat and mat: unlike one-hot vectors, embeddings
# have a geometry, and it reflects how the words are used.
#
# ### The library version
#
# `n2t.nnlm.NNLM` computes the same thing for a whole batch of running text. It returns
# the hidden vector $\tanh(\mathbf{d} + \mathbf{H}\mathbf{x})$, with $\mathbf{x}$
# appended when `direct=True`; the output layer is the harness's shared head, so with a
# full-softmax head the logits are $\mathbf{b} +
# [\mathbf{U}\;\mathbf{W}]\,[\tanh(\mathbf{d} + \mathbf{H}\mathbf{x}); \mathbf{x}]$,
# exactly Bengio's $\mathbf{y}$:
#
# ```{literalinclude} ../lib/n2t/nnlm.py
# :caption: lib/n2t/nnlm.py
# :pyobject: NNLM.forward
# :lines: 1-4,6-
# :language: python
# ```
#
# We copy the hand-built parameters into it and compare every next-word distribution of
# the toy text:

# %%
library_toy = lm.NeuralLM(
    nnlm.NNLM(V_toy, n_minus_1, m, h, direct=True, pad_id=eos), V_toy, adaptive=False
)
with torch.no_grad():
    library_toy.body.embedding.weight.copy_(Q)
    library_toy.body.hidden.weight.copy_(H)
    library_toy.body.hidden.bias.copy_(d)
    library_toy.head.linear.weight.copy_(torch.cat([U, W], dim=1))
    library_toy.head.linear.bias.copy_(b)
    running_text = torch.cat([torch.tensor([eos]), toy_stream[:-1]])  # inputs
    ours, _ = library_toy.eval().next_token_logprobs(running_text[None])
    by_hand = F.log_softmax(bengio_logits(contexts), dim=-1)
assert torch.allclose(ours[0], by_hand, atol=1e-5)
assert count_parameters(library_toy) == sum(p.numel() for p in (Q, H, d, U, W, b))
count_parameters(library_toy)

# %% [markdown]
# The two agree. The parameter count is Bengio's
# $|V|(1 + h + (n-1)m) + h(1 + (n-1)m) + |V|m$: with $|V|$ in the tens of thousands, the
# output layer and the embeddings hold almost all of it.

# %% [markdown]
# ## The output layer is the bottleneck
#
# On WikiText-2 the output layer computes {glue:text}`vocab_size:,` scores for every
# predicted token and normalises them. Everything else in the network is small next to
# it. The **adaptive softmax** of Grave et al. {cite:p}`grave2017` exploits Zipf's law:
# a *head* softmax covers the 2,000 most frequent words plus one entry per *tail
# cluster* (words 2,000–10,000 and the rest), and a word in a tail cluster gets
# $P(\text{cluster} \mid h)\,P(w \mid \text{cluster}, h)$, computed from a smaller
# projection of $h$. Most tokens are frequent words, so most of the time only the head
# is needed, yet every probability is exact and the distribution sums to one:

# %%
seed_everything(0)
adaptive_head = lm.Head(cfg.hidden_dim, len(vocab))  # the harness's default
with torch.no_grad():
    totals = adaptive_head.log_prob(torch.randn(4, cfg.hidden_dim)).double().exp()
assert torch.allclose(totals.sum(-1), torch.ones(4, dtype=torch.float64), atol=1e-4)
adaptive_head.cutoffs, totals.sum(-1)

# %% [markdown]
# How much it saves, measured: a few training steps of this chapter's NNLM on WikiText-2
# batches, once with each output layer.

# %%
train_ids = lm.wikitext2_ids("train", cfg.train_lines)


def training_speed(adaptive):
    """Training tokens per second of the NNLM with one output layer (a few steps)."""
    seed_everything(0)
    model = nnlm.build(len(vocab), {**cfg, "adaptive": adaptive})
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    batches = iter(lm.LMStream(train_ids, cfg.batch_size, cfg.seq_len))
    state, tokens, seconds = None, 0, 0.0
    for step in range(cfg.speed_steps + 1):
        inputs, targets = next(batches)
        started = time.perf_counter()
        logp, state = model(inputs, targets, state)
        optimizer.zero_grad()
        (-logp.mean()).backward()
        optimizer.step()
        state = state.detach()
        if step > 0:  # the first step warms up
            tokens += targets.numel()
            seconds += time.perf_counter() - started
    return tokens / seconds, count_parameters(model.head)


speeds = {name: training_speed(adaptive)
          for name, adaptive in [("full softmax", False), ("adaptive softmax", True)]}
markdown_table(["output layer", "training tokens per second", "parameters"],
               [(name, f"{speed:,.0f}", f"{params:,}")
                for name, (speed, params) in speeds.items()])

# %% tags=["remove-cell"]
full_speed, full_head_params = speeds["full softmax"]
adaptive_speed, adaptive_head_params = speeds["adaptive softmax"]
glue("full_speed", full_speed)
glue("adaptive_speed", adaptive_speed)
glue("adaptive_gain", adaptive_speed / full_speed)
glue("full_head_params", full_head_params)
glue("adaptive_head_params", adaptive_head_params)

# %% [markdown]
# With the full softmax the model trains at {glue:text}`full_speed:,.0f` tokens per
# second on the machine that built this page; with the adaptive softmax at
# {glue:text}`adaptive_speed:,.0f`, {glue:text}`adaptive_gain:.1f` times faster, and its
# output layer has {glue:text}`adaptive_head_params:,` parameters instead of
# {glue:text}`full_head_params:,`. The adaptive softmax is the harness's default for
# every neural language model in the book.

# %% [markdown]
# ## The language-model harness
#
# Every language model of the book, from Kneser–Ney to GPT, is trained and scored by the
# same code, `n2t.lm`, so that their perplexities can be compared in one table. A model
# is a *body*, `forward(ids (batch, time), state) -> (hidden (batch, time, dim),
# state)`, plus the shared head. The state is what the body carries from one window of
# text to the next: the NNLM carries its last $n - 2$ input ids, a recurrent network (a
# later chapter) its hidden state. Scoring reads the test text as one running text, a
# window at a time, so every token is predicted from the tokens before it, and never
# from itself:
#
# ```{literalinclude} ../lib/n2t/lm.py
# :caption: lib/n2t/lm.py (score)
# :start-after: excerpt begins score
# :end-before: excerpt ends
# :language: python
# ```
#
# The unit tests check this property directly: changing token $t$ never changes the
# score of any token up to $t$. The test split is the same {glue:text}`test_tokens:,`
# tokens that {doc}`02_ngram_models` scored, in the same order: each line's words, then
# `<eos>`. An n-gram model sees each line as a sentence padded with `<bos>`; the neural
# model sees the running text, `<eos>` between lines. Training runs for a fixed number
# of tokens (never a fixed time, so the numbers come out the same on every machine), one
# step at a time. A step of a language model reads the next window of the running text
# and carries the body's state to the window after it:
#
# ```{literalinclude} ../lib/n2t/lm.py
# :caption: lib/n2t/lm.py (lm_step)
# :start-after: excerpt begins lm step
# :end-before: excerpt ends
# :language: python
# ```
#
# The book's one loop for models trained on a stream of text (this NNLM, and later the
# LSTM, the biLM, GPT, BERT and T5) takes such steps on the **compute clock**: the
# tokens read and the training CPU-seconds, validation excluded:
#
# ```{literalinclude} ../lib/n2t/train.py
# :caption: lib/n2t/train.py (train_stream)
# :start-after: excerpt begins training step
# :end-before: excerpt ends
# :language: python
# ```
#
# where `optimizer_step`, one update shared by every trainer of the book, is the loop
# written by hand above plus gradient clipping and a learning-rate schedule:
#
# ```{literalinclude} ../lib/n2t/train.py
# :caption: lib/n2t/train.py (optimizer_step)
# :start-after: excerpt begins optimizer step
# :end-before: excerpt ends
# :language: python
# ```
#
# with the AdamW optimiser, a learning rate that warms up and then decays along a
# cosine, and the validation perplexity measured at intervals; the weights with the best
# one are kept. The trained NNLM is the zoo artefact `"nnlm"`, so later chapters can
# load it; its record is stored with it:

# %%
nnlm_artefact = zoo.get("nnlm")
record = nnlm_artefact.metrics
markdown_table(["test PPL", "valid PPL", "parameters", "training tokens",
                clock_label(record["clock"])],
               [(f"{record['test_ppl']:.1f}", f"{record['valid_ppl']:.1f}",
                 f"{record['parameters']:,}", f"{record['tokens_seen']:,}",
                 f"{clock_seconds(record['clock']):,.0f}")])

# %% tags=["remove-cell"]
assert record["test_tokens"] == lm.TEST_TOKENS == 245_569
nnlm_test_logp = nnlm_artefact.state["test_logprobs"]
nnlm_valid_logp = nnlm_artefact.state["valid_logprobs"]
assert math.isclose(lm.perplexity(nnlm_test_logp), record["test_ppl"], rel_tol=1e-9)
glue("test_tokens", record["test_tokens"])
glue("nnlm_test_ppl", record["test_ppl"])
glue("nnlm_valid_ppl", record["valid_ppl"])
glue("nnlm_params", record["parameters"])
glue("nnlm_tokens", record["tokens_seen"])
glue("nnlm_seconds", clock_seconds(record["clock"]))
glue("nnlm_speed", record["tokens_seen"] / clock_seconds(record["clock"]))
glue("clock_label", Text(clock_label(record["clock"])))
glue("nnlm_epochs", record["tokens_seen"] / len(train_ids))
glue("nnlm_context", cfg.context_size)

# %% [markdown]
# The model reads the {glue:text}`nnlm_context` previous words and has
# {glue:text}`nnlm_params:,` parameters. It saw {glue:text}`nnlm_tokens:,` training
# tokens ({glue:text}`nnlm_epochs:.1f` passes over its training text) in
# {glue:text}`nnlm_seconds:.0f` s ({glue:text}`clock_label`),
# {glue:text}`nnlm_speed:,.0f` tokens per second. Its test perplexity is
# {glue:text}`nnlm_test_ppl:.1f`.

# %% [markdown]
# ## Against Kneser–Ney, on the same tokens
#
# For the comparison we fit {doc}`02_ngram_models`'s interpolated modified Kneser–Ney
# model of the same order on the same training lines, and score it on the same
# validation and test tokens. It takes seconds:

# %%
train_lines = lm.wikitext2_lines("train", cfg.train_lines)
with measured("tokens") as kn_clock:  # the NNLM's clock: CPU-seconds, one thread
    kn = ngram.NGramLM(cfg.kn_order, "kneser_ney").fit(train_lines, vocab=vocab)
kn_test_logp = lm.ngram_logprobs(kn, "test")
kn_valid_logp = lm.ngram_logprobs(kn, "valid", cfg.valid_lines)
assert len(kn_test_logp) == len(nnlm_test_logp) == lm.TEST_TOKENS
assert len(kn_valid_logp) == len(nnlm_valid_logp)
kn_seconds = clock_seconds(kn_clock.reading())
kn_seconds, lm.perplexity(kn_test_logp)

# %% [markdown]
# Because both models score the same tokens in the same order, their probabilities can
# be compared token by token, and mixed. The **linear interpolation** $P_\text{mix} =
# \lambda P_\text{NNLM} + (1 - \lambda) P_\text{KN}$ takes the weight $\lambda$ that
# maximises the likelihood of the validation text, found by the same
# expectation–maximisation as the interpolation weights of {doc}`02_ngram_models`:
#
# ```{literalinclude} ../lib/n2t/lm.py
# :caption: lib/n2t/lm.py
# :pyobject: mix
# :language: python
# ```

# %%
weight = lm.mixture_weight(nnlm_valid_logp, kn_valid_logp)
mixed_test_logp = lm.mix(nnlm_test_logp, kn_test_logp, weight)
mixed_valid_logp = lm.mix(nnlm_valid_logp, kn_valid_logp, weight)
results = {
    f"Kneser–Ney {cfg.kn_order}-gram": (kn_valid_logp, kn_test_logp),
    f"NNLM ({cfg.context_size} previous words)": (nnlm_valid_logp, nnlm_test_logp),
    f"NNLM + Kneser–Ney (λ = {weight:.2f})": (mixed_valid_logp, mixed_test_logp),
}
table = {name: (lm.perplexity(v), lm.perplexity(t)) for name, (v, t) in results.items()}

# %% tags=["hide-input"]
markdown_table(["model", "valid PPL", "test PPL"],
               [(name, f"{valid:,.1f}", f"{test:,.1f}")
                for name, (valid, test) in table.items()])

# %% tags=["remove-cell"]
kn_valid_ppl, kn_test_ppl = table[f"Kneser–Ney {cfg.kn_order}-gram"]
mix_valid_ppl, mix_test_ppl = table[f"NNLM + Kneser–Ney (λ = {weight:.2f})"]
# on the validation text the tuned mixture is at least as good as either model alone
assert mix_valid_ppl <= min(kn_valid_ppl, record["valid_ppl"]) * (1 + 1e-9)
nnlm_wins = float((nnlm_test_logp > kn_test_logp).double().mean())
glue("kn_order", cfg.kn_order)
glue("kn_seconds", kn_seconds)
glue("kn_test_ppl", kn_test_ppl)
glue("kn_valid_ppl", kn_valid_ppl)
glue("mix_weight", weight)
glue("mix_test_ppl", mix_test_ppl)
glue("mix_gain_kn", 100 * (1 - mix_test_ppl / kn_test_ppl))
glue("mix_gain_nnlm", 100 * (1 - mix_test_ppl / record["test_ppl"]))
glue("nnlm_vs_kn", record["test_ppl"] / kn_test_ppl)
glue("nnlm_wins", 100 * nnlm_wins)
verdicts = ("Within its training budget the NNLM alone does not reach Kneser–Ney.",
            "The NNLM alone is already the better model.")
glue("nnlm_verdict", Text(verdicts[record["test_ppl"] < kn_test_ppl]))
assert mix_test_ppl < min(kn_test_ppl, record["test_ppl"])  # what the text below says

# %% [markdown]
# Kneser–Ney ({glue:text}`kn_order`-gram, fitted in {glue:text}`kn_seconds:.1f` s)
# reaches a test perplexity of {glue:text}`kn_test_ppl:.1f`, the NNLM
# {glue:text}`nnlm_test_ppl:.1f` (a ratio of {glue:text}`nnlm_vs_kn:.2f`).
# {glue:text}`nnlm_verdict` But neither model is better everywhere: the NNLM gives the
# higher probability to {glue:text}`nnlm_wins:.0f`% of the test tokens and Kneser–Ney to
# the rest. That is why mixing pays. With the weight tuned on the validation text, λ =
# {glue:text}`mix_weight:.2f`, the mixture reaches {glue:text}`mix_test_ppl:.1f`:
# {glue:text}`mix_gain_kn:.0f`% below Kneser–Ney and {glue:text}`mix_gain_nnlm:.0f`%
# below the NNLM alone. Bengio et al. {cite:p}`bengio2003` reported the same effect: the
# two models make different errors. Counts remember rare phrases exactly; embeddings
# share what they learn between similar words.

# %% [markdown]
# ## Learning curves
#
# Kneser–Ney is done as soon as it has counted. The NNLM improves with every token it
# trains on, and costs time to get there:

# %% mystnb={"figure": {"caption": "Validation perplexity of the NNLM during training, against the number of training tokens (left) and the training CPU-seconds on one thread, the book's compute clock (right), beside the validation perplexity of Kneser–Ney (dashed). On the right the dot marks the seconds that Kneser–Ney took to fit.", "name": "fig-nnlm-curves"}, "image": {"alt": "Two line plots. The NNLM's validation perplexity falls as training tokens and seconds grow; a dashed horizontal line marks Kneser–Ney's validation perplexity."}}
curve = record["curve"]
fig, (by_tokens, by_seconds) = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
n2t.plot.curves(
    {"NNLM": ([p["tokens"] / 1e6 for p in curve], [p["valid_ppl"] for p in curve])},
    xlabel="training tokens (millions)", ylabel="validation perplexity", ax=by_tokens,
)
n2t.plot.curves(
    {"NNLM": ([clock_seconds(p) for p in curve], [p["valid_ppl"] for p in curve])},
    xlabel=clock_label(record["clock"], kn_clock.reading()),
    ylabel="validation perplexity", ax=by_seconds,
)
ppls = [p["valid_ppl"] for p in curve] + [kn_valid_ppl]
for ax in (by_tokens, by_seconds):
    ax.axhline(kn_valid_ppl, color="0.3", linestyle="--",
               label=f"Kneser–Ney {cfg.kn_order}-gram")
    if max(ppls) > 5 * min(ppls):  # a wide range reads better on a log scale
        ax.set_yscale("log")
    ax.legend()
by_seconds.plot([kn_seconds], [kn_valid_ppl], "o", color="0.3")
plt.show()

# %% tags=["remove-cell"]
best_point = min(curve, key=lambda p: p["valid_ppl"])
crossing = next((p for p in curve if p["valid_ppl"] < kn_valid_ppl), None)
glue("curve_points", len(curve))
glue("curve_first_ppl", curve[0]["valid_ppl"])
glue("curve_first_tokens", curve[0]["tokens"])
glue("curve_best_ppl", best_point["valid_ppl"])
glue("curve_last_gain", 100 * (1 - curve[-1]["valid_ppl"] / curve[-2]["valid_ppl"])
     if len(curve) > 1 else 0.0)
glue("crossing_text", Text(
    f"It passes Kneser–Ney after {crossing['tokens']:,} tokens "
    f"({clock_seconds(crossing):.0f} s of training)." if crossing
    else "Within this budget it never gets below Kneser–Ney's line."))

# %% [markdown]
# After {glue:text}`curve_first_tokens:,` tokens the validation perplexity is
# {glue:text}`curve_first_ppl:.0f`; the best checkpoint reaches
# {glue:text}`curve_best_ppl:.1f` ({numref}`fig-nnlm-curves`).
# {glue:text}`crossing_text` The last interval gained
# {glue:text}`curve_last_gain:.1f`%, as the learning rate decayed to zero at the end of
# the fixed budget. A network can keep improving with more training and more data
# (exercise 5 measures it), while Kneser–Ney's line only moves if the counts change. The
# price is compute: Kneser–Ney fits in seconds, the NNLM trains for minutes.

# %% [markdown]
# ## What the embeddings learned
#
# The rows of the trained $\mathbf{Q}$ are the word vectors. The cosine between two rows
# measures how similar the model found the two words. A word seen only a handful of
# times has had few updates, and its vector is still mostly its random start, so we look
# for neighbours among the 10,000 most frequent words (the vocabulary is sorted by
# frequency). The nearest neighbours of a few common words:

# %%
itos = nnlm_artefact.state["itos"]
vectors = nnlm_artefact.state["embedding"]
assert vectors.shape == (len(itos), cfg.embed_dim) and itos == vocab.itos
probes = ["he", "city", "war", "January", "three", "played", "film", "British"]
frequent = 10_000  # search among the most frequent words
neighbours = {word: wv.nearest(vectors[:frequent], itos[:frequent], word, k=6)
              for word in probes}

# %% tags=["hide-input"]
markdown_table(["word", "nearest neighbours (cosine)"],
               [(f"**{word}**", ", ".join(f"{w} ({c:.2f})" for w, c in found))
                for word, found in neighbours.items()])

# %% [markdown]
# A 2-D picture of a few groups of words, projected onto the first two principal
# components of their vectors:

# %%
groups = {
    "months": ["January", "February", "March", "April", "June", "July", "October"],
    "numbers": ["two", "three", "four", "five", "six", "seven", "ten"],
    "countries": ["France", "Germany", "China", "Japan", "England", "Canada"],
    "past-tense verbs": ["played", "wrote", "won", "died", "joined", "released"],
}
group_words = [w for members in groups.values() for w in members]
missing = [w for w in group_words if w not in vocab]
assert not missing, missing
# unit rows, as for word2vec's map in a later chapter: the direction, not the length
points = n2t.plot.pca_2d(wv.unit_rows(vectors[vocab.encode(group_words)].float()))

# %% mystnb={"figure": {"caption": "The NNLM's embeddings of four groups of words, projected onto their first two principal components.", "name": "fig-nnlm-embeddings"}, "image": {"alt": "A scatter plot of 26 labelled words in four colours: months, numbers, countries and past-tense verbs, each word placed by the first two principal components of its embedding."}}
fig, ax = plt.subplots(figsize=(6.5, 4.5))
n2t.plot.scatter_2d(
    points, group_words, groups=[name for name, ws in groups.items() for _ in ws],
    xlabel="principal component 1", ylabel="principal component 2", ax=ax,
)
plt.show()

# %% tags=["remove-cell"]
unit = F.normalize(vectors[vocab.encode(group_words)].float(), dim=1)
similarity = unit @ unit.T
labels = np.repeat(np.arange(len(groups)), [len(g) for g in groups.values()])
same = torch.tensor(labels[:, None] == labels[None, :])
off_diagonal = ~torch.eye(len(group_words), dtype=torch.bool)
glue("cos_within", similarity[same & off_diagonal].mean())
glue("cos_between", similarity[~same].mean())

# %% [markdown]
# Words of the same group have a mean cosine of {glue:text}`cos_within:.2f`, words of
# different groups {glue:text}`cos_between:.2f` ({numref}`fig-nnlm-embeddings`). The
# model was never told what a month or a number is; it only had to predict the next
# word, and words that are followed by the same words drift together. A later chapter
# compares these vectors with those of word2vec, which is built to learn them faster.

# %% [markdown]
# ## What still fails
#
# The NNLM shares statistics between similar words, but it keeps the $n$-gram model's
# blind spot: it reads exactly $n - 1$ words. Anything earlier, the subject of the
# sentence or the topic of the article, cannot change its prediction:

# %%
model = nnlm.load(nnlm_artefact)
context = ["in", "the", "city", "of"]
prefixes = ["the war began", "the album was released"]
distributions = []
for prefix in prefixes:
    ids = torch.tensor([vocab.encode(prefix.split() + context)])
    with torch.no_grad():
        logp, _ = model.next_token_logprobs(ids)
    distributions.append(logp[0, -1])
# Equal up to float rounding (the two inputs have different lengths, so torch may sum
# in a different order): the earlier words change nothing.
assert torch.allclose(distributions[0], distributions[1], rtol=0, atol=1e-5)
top = distributions[0].topk(5).indices
[vocab.itos[i] for i in top]

# %% tags=["remove-cell"]
largest = float((distributions[0] - distributions[1]).abs().max())
glue("prefix_same", Text(
    "identical, bit for bit" if largest == 0 else
    f"the same up to float rounding (the log-probabilities differ by at most "
    f"{largest:.1e}, as the two inputs' different lengths change the order of sums)"))

# %% [markdown]
# After "the war began in the city of" and after "the album was released in the city
# of", the distribution of the next word is {glue:text}`prefix_same`. Widening the
# window makes $\mathbf{x}$, $\mathbf{H}$ and $\mathbf{W}$ grow with $n$ and still
# leaves a limit. A model that reads the whole history needs to carry a summary of it
# along the text, a state that is updated word by word: the recurrent neural networks of
# a later chapter. The harness is ready for them: their state is the `state` of the
# body's `forward`.

# %% [markdown]
# ## Exercises
#
# 1. Show that $\mathbf{e}_i^\top \mathbf{Q}$ equals row $i$ of $\mathbf{Q}$ for every
#    $i$, and count the multiply–adds of the product and of the lookup for a batch of
#    $B$ ids.
# 2. Write the parameter count of Bengio's model with and without direct connections for
#    $|V| = 33{,}278$, $n = 5$, $m = 128$, $h = 256$. Which matrix dominates?
# 3. Train the toy NNLM with $\mathbf{W} = 0$ frozen (no direct connections). Does the
#    cosine of "cat" and "dog" change?
# 4. Train the NNLM with `direct=True` on WikiText-2. Does its test perplexity improve,
#    and how much slower is it?
# 5. Train the NNLM on twice as many tokens (`train_tokens` in the profile). How much
#    lower does its validation perplexity go, and does it pass Kneser–Ney?
# 6. Plot the mixture's validation perplexity as a function of λ from 0 to 1. Where is
#    the minimum, and how flat is the curve around it?
# 7. Split the test tokens by whether their 5-gram occurs in the training text. On which
#    group does the NNLM beat Kneser–Ney, and why?
