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
# # Word2Vec
#
# The neural language model of {doc}`03_neural_lm` learned word vectors as a
# by-product of predicting the next word, and paid for them with a hidden layer and a
# softmax over the whole vocabulary at every token. Mikolov and colleagues asked what
# is left if the goal is only the vectors {cite:p}`mikolov2013,mikolov2013b`: drop the
# hidden layer, replace the softmax by a handful of yes/no questions, and train on far
# more text in the same time. This chapter builds the two models of *word2vec*, CBOW and
# skip-gram, by hand on a toy corpus, adds the three tricks that make them work
# (negative sampling, subsampling of frequent words, a dynamic window), trains both on
# WikiText-2 {cite:p}`merity2016` and measures what the vectors know.

# %% tags=["remove-cell"]
import math
from itertools import groupby

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display
from n2t.book import Text, glue, markdown_table

import n2t.data
import n2t.plot
import n2t.profile
from n2t import vectors as wv
from n2t import word2vec as w2v
from n2t import zoo
from n2t.clock import clock_label, clock_seconds
from n2t.train import Timer

n2t.plot.use_book_style()
torch.manual_seed(0)
# The chapter's tensors are small: one CPU thread beats two that must keep synchronising
# (by far on a busy machine). The library's training loop does the same.
torch.set_num_threads(1)
cfg = n2t.profile.current().settings("word2vec")

# %% [markdown]
# ## What the neural language model pays for
#
# Bengio's model {cite:p}`bengio2003` reads $n-1$ word vectors, passes their
# concatenation through a hidden layer of width $H$ and scores all $|V|$ words with a
# softmax. Counting multiply–adds per predicted token makes the bill plain (Bengio's
# optional direct connections $\mathbf{W}\mathbf{x}$ from the embeddings to the softmax,
# which {doc}`03_neural_lm`'s trained model leaves out, on a line of their own):

# %%
V, d, n, H, K = 33_278, 100, 5, 500, 5  # vocabulary, width, order, hidden, negatives
nnlm_cost = {
    "hidden layer, (n − 1) d H": (n - 1) * d * H,
    "softmax over |V| from the hidden layer, H |V|": H * V,
}
direct_cost = (n - 1) * d * V  # Bengio's optional W x: (n − 1) d |V|
skipgram_cost = (K + 1) * d  # one (word, context) pair: K + 1 dot products
markdown_table(["per predicted token", "multiply–adds"], [
    *((part, f"{cost:,}") for part, cost in nnlm_cost.items()),
    ("NNLM in all", f"{sum(nnlm_cost.values()):,}"),
    ("optional direct connections, (n − 1) d |V|", f"{direct_cost:,}"),
    ("skip-gram, one pair, (K + 1) d", f"{skipgram_cost:,}"),
])

# %% tags=["remove-cell"]
nnlm_total = sum(nnlm_cost.values())
glue("nnlm_madds", nnlm_total / 1e6, display=False)
glue("nnlm_direct_madds", (nnlm_total + direct_cost) / 1e6, display=False)
glue("softmax_share", 100 * H * V / nnlm_total, display=False)
glue("pair_madds", skipgram_cost, display=False)
glue("cost_ratio", nnlm_total / (2 * cfg.window * skipgram_cost), display=False)

# %% [markdown]
# With a 100-wide embedding, a hidden layer of 500 and $n - 1 = 4$ words of context, the
# NNLM spends {glue:text}`nnlm_madds:.1f` million multiply–adds on each token
# ({glue:text}`nnlm_direct_madds:.1f` million with the direct connections), and
# {glue:text}`softmax_share:.1f`% of them on scoring every word of the vocabulary.
# Word2vec keeps only the embeddings: one pair of words costs {glue:text}`pair_madds`
# multiply–adds, so even a token with its full window of context pairs is about
# {glue:text}`cost_ratio:,.0f` times cheaper than the NNLM without direct connections.
# The price is that word2vec is no longer a language model: it cannot score a sentence.
# It only learns vectors, and that is all it is for.
#
# ## Two ways to predict from a window
#
# Both models slide a window over the text. At each position $t$ the **centre word**
# $w_t$ and the **context words** $w_{t+j}$, $0 < |j| \le c$, form a training
# example. **CBOW** (continuous bag of words) averages the context vectors and predicts
# the centre word from the average; the order of the context words is lost, hence the
# "bag". **Skip-gram** turns it around: the centre word predicts each context word
# separately, so one position gives up to $2c$ examples
# ({numref}`fig-w2v-architectures`).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "CBOW (left) averages the vectors of the context words and predicts the centre word; skip-gram (right) uses the centre word's vector to predict each context word. Neither has a hidden layer. Blue: an input word, looked up in the input vectors; red: a word predicted from its output vector.", "name": "fig-w2v-architectures"}, "image": {"alt": "Two diagrams. Left: four context words w(t-2), w(t-1), w(t+1), w(t+2) feed one averaging node that predicts w(t). Right: w(t) feeds one vector node that predicts each of the four context words."}}
import n2t.diagrams

n2t.diagrams.word2vec()


# %% [markdown]
# Each word has **two** vectors: $\mathbf{v}_w$ when it is the input (the centre word
# for skip-gram, a context word for CBOW) and $\mathbf{u}_w$ when it is the output
# being predicted. With a full softmax, skip-gram's probability of context word $o$
# given centre word $w$ is
#
# $$
# P(o \mid w) = \frac{\exp(\mathbf{u}_o^\top \mathbf{v}_w)}
#   {\sum_{o'=1}^{|V|} \exp(\mathbf{u}_{o'}^\top \mathbf{v}_w)},
# $$
#
# and CBOW's is the same with $\mathbf{v}_w$ replaced by the mean
# $\bar{\mathbf{v}} = \frac{1}{2c}\sum_{0<|j|\le c} \mathbf{v}_{w_{t+j}}$ of the
# context vectors and $o$ the centre word.
#
# ## Both models by hand
#
# A toy corpus in which royals rule, people walk dogs and animals chase each other:

# %%
toy_text = [
    "the king rules the land", "the queen rules the land",
    "the king wears a crown", "the queen wears a crown",
    "a man walks the dog", "a woman walks the dog",
    "the man eats bread", "the woman eats bread",
    "the cat chases a mouse", "the dog chases a cat",
    "the cat drinks milk", "the dog drinks water",
]
toy = [line.split() for line in toy_text]
toy_itos = sorted({w for line in toy for w in line})
toy_stoi = {w: i for i, w in enumerate(toy_itos)}
len(toy_itos)

# %% [markdown]
# The training examples of skip-gram are (centre, context) pairs. With a window of
# $c = 2$, the first sentence gives:

# %%
def pairs_of(line, c):
    """Every (centre, context) pair of one line with a window of c words each side."""
    return [
        (line[t], line[t + j])
        for t in range(len(line))
        for j in range(-c, c + 1)
        if j != 0 and 0 <= t + j < len(line)
    ]


for centre, group in groupby(pairs_of(toy[0], 2), key=lambda pair: pair[0]):
    print(f"{centre:>5} → {', '.join(context for _, context in group)}")

# %%
toy_pairs = [p for line in toy for p in pairs_of(line, 2)]
centre_ids = torch.tensor([toy_stoi[a] for a, _ in toy_pairs])
context_ids = torch.tensor([toy_stoi[b] for _, b in toy_pairs])
assert len(pairs_of(toy[0], 2)) == 2 + 3 + 4 + 3 + 2
len(toy_pairs)

# %% [markdown]
# Skip-gram with a full softmax is two embedding tables and a cross-entropy, trained
# here with Adam on all pairs at once:

# %%
def train_toy(loss_fn, dim=8, steps=300, seed=0):
    """Train input and output tables (|V|, dim) on loss_fn(v_in, u_out) with Adam."""
    g = torch.Generator().manual_seed(seed)
    v_in = (0.1 * torch.randn(len(toy_itos), dim, generator=g)).requires_grad_()
    u_out = (0.1 * torch.randn(len(toy_itos), dim, generator=g)).requires_grad_()
    optimizer = torch.optim.Adam([v_in, u_out], lr=0.05)
    for _ in range(steps):
        loss = loss_fn(v_in, u_out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return v_in.detach(), loss.item()


def skipgram_softmax_loss(v_in, u_out):
    logits = v_in[centre_ids] @ u_out.T  # (pairs, |V|)
    return F.cross_entropy(logits, context_ids)


toy_sg, toy_sg_loss = train_toy(skipgram_softmax_loss)
toy_sg_loss

# %% [markdown]
# CBOW needs the windows rather than the pairs: each position's context words, padded
# to $2c$ slots with a mask (True marks a real word), averaged, and scored against
# every word:

# %%
windows, lengths, centres = [], [], []
for line in toy:
    for t, word in enumerate(line):
        ctx = [toy_stoi[line[t + j]] for j in (-2, -1, 1, 2) if 0 <= t + j < len(line)]
        windows.append(ctx + [0] * (4 - len(ctx)))  # pad to 4 slots with id 0
        lengths.append(len(ctx))
        centres.append(toy_stoi[word])
window_ids, centre_targets = torch.tensor(windows), torch.tensor(centres)
window_mask = torch.arange(4)[None, :] < torch.tensor(lengths)[:, None]
window_ids[:2], window_mask[:2]


# %%
def cbow_softmax_loss(v_in, u_out):
    weights = window_mask.float()[:, :, None]
    mean = (v_in[window_ids] * weights).sum(1) / weights.sum(1)  # (positions, dim)
    return F.cross_entropy(mean @ u_out.T, centre_targets)


toy_cbow, toy_cbow_loss = train_toy(cbow_softmax_loss)
toy_cbow_loss

# %% [markdown]
# Words that occur in the same contexts should now have similar input vectors. The
# cosine similarity $\cos(\mathbf{a}, \mathbf{b}) = \mathbf{a}^\top\mathbf{b} /
# (\lVert\mathbf{a}\rVert\,\lVert\mathbf{b}\rVert)$ of a few pairs, for both models:

# %%
def toy_cosine(vectors, a, b):
    return float(F.cosine_similarity(vectors[toy_stoi[a]], vectors[toy_stoi[b]], dim=0))


toy_checks = [("king", "queen"), ("man", "woman"), ("cat", "dog"), ("king", "bread"),
              ("queen", "milk")]
display(markdown_table(["pair", "skip-gram", "CBOW"], [
    (f"{a} – {b}", *(f"{toy_cosine(m, a, b):.2f}" for m in (toy_sg, toy_cbow)))
    for a, b in toy_checks
]))

# %% tags=["remove-cell"]
for model in (toy_sg, toy_cbow):
    assert toy_cosine(model, "king", "queen") > toy_cosine(model, "king", "bread")
    assert toy_cosine(model, "man", "woman") > toy_cosine(model, "queen", "milk")
glue("toy_sg_kq", toy_cosine(toy_sg, "king", "queen"), display=False)
glue("toy_sg_kb", toy_cosine(toy_sg, "king", "bread"), display=False)

# %% [markdown]
# "king" and "queen" never occur in the same sentence, yet their skip-gram vectors have
# cosine {glue:text}`toy_sg_kq:.2f`, against {glue:text}`toy_sg_kb:.2f` for "king" and
# "bread": they share their contexts ("the … rules the land", "the … wears a crown"),
# and sharing contexts is what the training objective rewards. This is the
# distributional hypothesis — a word is characterised by the company it keeps — turned
# into an optimisation problem.
#
# ## Negative sampling: the loss written out
#
# The softmax above sums over all $|V|$ words for every pair: on WikiText-2 that is one
# dot product for each of the {glue:text}`vocab:,` words of word2vec's vocabulary, to
# learn from one pair. **Negative sampling**
# {cite:p}`mikolov2013b` replaces the question "which word is the context?" by $K+1$
# yes/no questions: is the true context word $o$ a context of $w$ (yes), and is each
# of $K$ words $n_1 \dots n_K$ drawn from a noise distribution $P_n$ a context of $w$
# (no)? With the logistic sigmoid $\sigma(x) = 1/(1+e^{-x})$, the loss of one pair is
#
# $$
# \ell(w, o) = -\ln \sigma(\mathbf{u}_o^\top \mathbf{v}_w)
#   - \sum_{k=1}^{K} \ln \sigma(-\mathbf{u}_{n_k}^\top \mathbf{v}_w),
#   \qquad n_k \sim P_n .
# $$
#
# Its gradients are short enough to write by hand. With $s_j$ the score
# $\mathbf{u}_j^\top \mathbf{v}_w$ of target $j$ and label $y_j$ (1 for $o$, 0 for the
# negatives), $\partial \ell / \partial s_j = \sigma(s_j) - y_j$, so
#
# $$
# \frac{\partial \ell}{\partial \mathbf{v}_w}
#   = \sum_j (\sigma(s_j) - y_j)\,\mathbf{u}_j,
# \qquad
# \frac{\partial \ell}{\partial \mathbf{u}_j} = (\sigma(s_j) - y_j)\,\mathbf{v}_w .
# $$
#
# The library applies exactly these updates to a batch of pairs, adding each row's
# gradient in place with `index_add_` (a word that appears several times in the batch
# gets the sum), so no autograd graph is built. The part that skip-gram and CBOW share
# scores input vectors `h` against their `targets` and the negatives and writes out the
# steps for `h` and for the output vectors $\mathbf{u}$; `used` drops a negative that
# happens to be the target itself, as word2vec.c does:
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py — negative_sampling_steps
# :start-after: excerpt begins negative sampling
# :end-before: excerpt ends
# :dedent:
# ```
#
# Skip-gram's step feeds it the input vectors $\mathbf{v}$ of the `words` and adds the
# steps to both tables:
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py — skipgram_step
# :start-after: excerpt begins skip-gram step
# :end-before: excerpt ends
# :dedent:
# ```

# %% [markdown]
# To be sure that the hand-written gradient is the gradient, one step of
# `skipgram_step` must equal one step of plain SGD on the loss above, differentiated
# by autograd. A negative that happens to be the pair's own context word is left out of
# the loss, as `used` leaves it out of the step; with 20 draws from 12 words the batch
# below has some:

# %%
g = torch.Generator().manual_seed(2)
v_tab, u_tab = torch.randn(12, 4, generator=g), torch.randn(12, 4, generator=g)
batch_centres, batch_contexts = torch.tensor([0, 3, 3, 7]), torch.tensor([1, 2, 9, 0])
batch_negatives = torch.randint(0, 12, (4, K), generator=g)
skipped = batch_negatives == batch_contexts[:, None]  # word2vec.c skips these draws
assert skipped.any()  # so the check covers them

v_auto, u_auto = v_tab.clone().requires_grad_(), u_tab.clone().requires_grad_()
v = v_auto[batch_centres]
positive = (u_auto[batch_contexts] * v).sum(1)
negative = (u_auto[batch_negatives] * v[:, None, :]).sum(2)
loss = -(F.logsigmoid(positive).sum() + F.logsigmoid(-negative)[~skipped].sum())
loss.backward()

lr = 0.1
w2v.skipgram_step(v_tab, u_tab, batch_centres, batch_contexts, batch_negatives, lr)
assert torch.allclose(v_tab, v_auto.detach() - lr * v_auto.grad, atol=1e-6)
assert torch.allclose(u_tab, u_auto.detach() - lr * u_auto.grad, atol=1e-6)

# %% [markdown]
# `cbow_step` does the same for CBOW, with the mean context vector $\bar{\mathbf{v}}$
# in the part of $\mathbf{v}_w$. One detail follows word2vec.c rather than the chain
# rule: each of the $n$ context words receives the whole gradient
# $\partial \ell / \partial \bar{\mathbf{v}}$, not the share $1/n$ that the mean
# would pass on. gensim keeps that choice, and so do we (the unit tests check
# `cbow_step` against autograd on exactly this update).
#
# ### The vectors, not the classifier, are the product
#
# Nobody wants the answers of this classifier: whether "land" occurs near "king" is not
# a question anyone needs answered. The task is a pretext. To answer it for millions of
# pairs with one vector per word, the model has to give words that occur in similar
# contexts similar vectors — and those vectors, the rows of the input table
# $\mathbf{v}$, are what word2vec keeps and publishes. The output table $\mathbf{u}$
# and the sigmoid on top are thrown away after training. The pretraining tasks of the
# later chapters work the same way: a network predicts hidden words only so that it
# learns something worth keeping.
#
# ## The noise distribution
#
# Which words should the negatives be? Drawing them by frequency would spend most
# questions on "the", "," and "of"; drawing them uniformly would ask mostly about words
# seen a handful of times. Mikolov et al. found that the unigram distribution raised to
# the power $3/4$ works best:
# $P_n(w) = \mathrm{count}(w)^{3/4} / \sum_{w'} \mathrm{count}(w')^{3/4}$. The power
# flattens the distribution: frequent words are drawn less often than their share of
# the text, rare words more often. On the WikiText-2 training text (words seen at least
# `min_count` times, as in word2vec):

# %%
train_lines = n2t.data.wikitext2_lines("train", cfg.train_lines)
corpus = w2v.encode_corpus(train_lines, cfg.min_count)
unigram = corpus.counts.double() / corpus.counts.sum()
noise = w2v.noise_distribution(corpus.counts)
len(corpus), len(corpus.itos)

# %%
probe = ["the", "of", "king", "river", "Paris", "guitar"]
probe = [w for w in probe if w in corpus.stoi]
display(markdown_table(["word", "count", "P(w) in the text", "P_n(w) ∝ count^0.75"], [
    (w, int(corpus.counts[corpus.stoi[w]]), f"{float(unigram[corpus.stoi[w]]):.5f}",
     f"{float(noise[corpus.stoi[w]]):.5f}") for w in probe
]))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The probability of each word against its frequency rank, in the training text (unigram) and in the noise distribution (count to the power 3/4), on log–log axes.", "name": "fig-w2v-noise"}, "image": {"alt": "Two descending curves on log-log axes. The noise distribution lies below the unigram distribution for the most frequent words and above it for the rare ones."}}
ranks = np.arange(1, len(corpus.itos) + 1)
n2t.plot.curves(
    {"unigram P(w)": (ranks, unigram.numpy()), "noise P_n(w)": (ranks, noise.numpy())},
    xlabel="frequency rank of the word", ylabel="probability", logx=True, logy=True,
    marker=None,
)
plt.show()

# %% tags=["remove-cell"]
the = corpus.stoi["the"]
crossing = int((noise > unigram).nonzero()[0]) + 1  # first rank the noise favours
glue("the_unigram", 100 * float(unigram[the]), display=False)
glue("the_noise", 100 * float(noise[the]), display=False)
glue("noise_crossing", crossing, display=False)
assert float(noise[the]) < float(unigram[the])
noise_table = w2v.NoiseSampler(noise).table
glue("noise_table_size", noise_table.numel(), display=False)
glue("rarest_slots", int(torch.bincount(noise_table.long()).min()), display=False)

# %% [markdown]
# "the" makes up {glue:text}`the_unigram:.1f`% of the tokens but only
# {glue:text}`the_noise:.1f`% of the negatives; from frequency rank
# {glue:text}`noise_crossing:,` on, a word is drawn more often than it occurs
# ({numref}`fig-w2v-noise`). The library draws negatives as word2vec.c does, from a
# table of word ids in which each word fills its share: word2vec.c's table holds $10^8$
# ids, ours {glue:text}`noise_table_size:,`, which still gives the rarest word here
# {glue:text}`rarest_slots:,` slots. The unit tests check a large draw against $P_n$
# with a $\chi^2$ test.
#
# ## Subsampling frequent words
#
# Frequent words are frequent in every window: the pair ("king", "the") teaches little
# after the thousandth time. Word2vec therefore drops each occurrence of a word of
# frequency $f(w)$ at random before the windows are made. The paper writes the
# probability of *discarding* it as $1 - \sqrt{t / f(w)}$ for a threshold $t$ around
# $10^{-5}$ {cite:p}`mikolov2013b`. The released word2vec.c — and gensim
# {cite:p}`rehurek2010`, which copies it — *keeps* it with probability
#
# $$
# P_{\text{keep}}(w) = \min\!\Big(1,\ \sqrt{\frac{t}{f(w)}} + \frac{t}{f(w)}\Big),
# $$
#
# the paper's keep probability plus $t/f(w)$, which spares words near the threshold.
# We use the code's variant, because it is what every published word2vec model and
# gensim actually ran: the comparison with gensim in the benchmark is only fair if both
# throw away the same words. Subsampling also widens the windows, since the words that
# remain close up.
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py
# :pyobject: keep_probability
# :lines: 1,7-
# ```

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The probability of keeping a word against its frequency in the text, for the paper's formula and word2vec.c's, at two thresholds t.", "name": "fig-w2v-subsampling"}, "image": {"alt": "Four falling curves on log-log axes. Each equals 1 for rare words and falls as one over the square root of the frequency beyond the threshold; the code's curves sit slightly above the paper's near the threshold."}}
freqs = np.logspace(-7, -1, 200)
series = {}
for t in (1e-5, 1e-3):
    series[f"paper, t = {t:g}"] = (freqs, np.minimum(1, np.sqrt(t / freqs)))
    series[f"word2vec.c, t = {t:g}"] = (
        freqs, np.minimum(1, np.sqrt(t / freqs) + t / freqs))
ax = n2t.plot.curves(series, xlabel="word frequency f(w)", ylabel="P(keep)",
                     logx=True, logy=True, marker=None)
plt.show()

# %%
def kept_share(t):
    """The expected share of the training tokens that subsampling with t keeps."""
    keep = w2v.keep_probability(corpus.counts, t)
    return float((keep * corpus.counts).sum() / corpus.counts.sum())


kept = {t: kept_share(t) for t in (1e-5, 1e-4, 1e-3)}
display(markdown_table(["t", "tokens kept", "P(keep 'the')"], [
    (f"{t:g}", f"{100 * share:.0f}%",
     f"{float(w2v.keep_probability(corpus.counts, t)[the]):.3f}")
    for t, share in kept.items()
]))

# %% tags=["remove-cell"]
glue("kept_1e5", 100 * kept[1e-5], display=False)
glue("kept_1e3", 100 * kept[1e-3], display=False)
glue("t_used", Text(f"{cfg.subsample_t:g}"), display=False)

# %% [markdown]
# The paper's $t = 10^{-5}$ was chosen for corpora of billions of words. On WikiText-2
# it keeps only {glue:text}`kept_1e5:.0f`% of the tokens — it thins out not just "the"
# but every word seen more than a few dozen times, which here means most of the words
# the evaluations ask about. $t = 10^{-3}$, the default of word2vec.c and gensim, keeps
# {glue:text}`kept_1e3:.0f`%. We train with $t =$ {glue:text}`t_used` and measure the
# other thresholds below (in {ref}`sec-w2v-threshold`), rather than take either choice
# on trust.
#
# ## A dynamic window
#
# The last trick weights near context words more than far ones without any weights:
# each position draws its own reach $b$ uniformly from $1 \dots c$ and uses only the
# context words within $b$. A word at distance $|j|$ is then used with probability
# $(c - |j| + 1)/c$. The library draws every position's window at once, as a mask over
# the $2c$ offsets that also stops a window at the end of its line:
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py
# :pyobject: dynamic_windows
# :lines: 1-3,14-
# ```

# %%
line_ids = torch.zeros(100_000, dtype=torch.long)  # one long line
mask = w2v.dynamic_windows(line_ids, cfg.window, torch.Generator().manual_seed(0))
offsets = w2v.window_offsets(cfg.window)
usage = mask.double().mean(0)
expected = (cfg.window - offsets.abs() + 1) / cfg.window
assert torch.allclose(usage, expected.double(), atol=0.01)
offset_header = ["offset j", "share of positions using it", "(c − |j| + 1) / c"]
display(markdown_table(offset_header, [
    (j, f"{u:.3f}", f"{e:.3f}")
    for j, u, e in zip(offsets.tolist(), usage.tolist(), expected.tolist(), strict=True)
]))

# %% [markdown]
# The neighbours at distance 1 are always used, those at distance
# {glue:text}`window_size` in one window out of {glue:text}`window_size`; on average a
# position has $c + 1$ context words instead of $2c$, which also makes training faster.

# %% tags=["remove-cell"]
glue("window_size", cfg.window, display=False)
glue("lr", cfg.lr, display=False)
glue("min_lr", Text(f"{cfg.min_lr:g}"), display=False)
ws353_scores = {(a, b): score for a, b, score in n2t.data.wordsim353()}
glue("tiger_cat", ws353_scores["tiger", "cat"], display=False)

# %% [markdown]
# ## Training on WikiText-2
#
# The library puts the pieces together. Every epoch subsamples the whole corpus at once,
# draws every dynamic window at once and lists the examples they allow — the pairs for
# skip-gram, the centre words with their context for CBOW — in random order. Then the
# loop walks over steps of `batch_size` examples, draws their negatives and applies one
# update. The shuffle matters more than it seems. word2vec.c takes one pair at a time,
# and each update sees the ones before it. A batch in text order would hold a word's
# pairs with all its neighbours at once and add up their gradients, all computed from
# the same stale rows; shuffled, those updates fall into different steps. The input
# vectors start uniform in $\pm 1/\text{dim}$, as in gensim (word2vec.c uses half that
# range; the wider one answered more analogies in the benchmark below), the output
# vectors at zero. The learning rate falls linearly from {glue:text}`lr` to
# {glue:text}`min_lr` over the training, as in gensim (word2vec.c falls towards zero and
# stops at $10^{-4}$ of its start, and starts CBOW at 0.05). Skip-gram follows
# word2vec.c in one more detail: in each pair, the *context* word's input vector
# predicts the *centre* word. Every position draws its reach from the same distribution,
# so these are the same pairs, in expectation, as the other way round. Not one Python
# loop runs over tokens:
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py
# :start-after: [epoch]
# :end-before: [/epoch]
# ```
#
# Both models are trained through the zoo, which caches them for later chapters (the
# transfer-learning chapter asks for them by name):

# %%
skipgram = zoo.get("word2vec-skipgram")
cbow = zoo.get("word2vec-cbow")
models = {"skip-gram": skipgram, "CBOW": cbow}
markdown_table(["model", "words", "vector width"],
               [(name, f"{len(m.state['itos']):,}", m.state["vectors"].shape[1])
                for name, m in models.items()])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The negative-sampling loss per training example (a pair for skip-gram, a centre word for CBOW) during training (a moving average over batches).", "name": "fig-w2v-loss"}, "image": {"alt": "Two falling curves of training loss against the share of training done; both fall quickly at first and then level off."}}
def smooth(values, width=200):
    values = np.asarray(values)
    width = max(1, min(width, len(values) // 10))
    kernel = np.ones(width) / width
    return np.convolve(values, kernel, mode="valid")


curves = {}
for name, model in models.items():
    losses = smooth(model.state["losses"].numpy())
    curves[name] = (np.linspace(0, 1, len(losses)), losses)
n2t.plot.curves(curves, xlabel="share of training done", ylabel="loss per example",
                marker=None)
plt.show()

# %% tags=["remove-cell"]
sg_m, cbow_m = skipgram.metrics, cbow.metrics
glue("sg_examples", sg_m["examples"] / 1e6, display=False)
sg_seconds, cbow_seconds = clock_seconds(sg_m["clock"]), clock_seconds(cbow_m["clock"])
glue("sg_seconds", sg_seconds, display=False)
glue("sg_rate", sg_m["examples"] / sg_seconds / 1e6, display=False)
glue("cbow_seconds", cbow_seconds, display=False)
glue("cbow_rate", cbow_m["examples"] / cbow_seconds / 1e6, display=False)
glue("w2v_clock", Text(clock_label(sg_m["clock"], cbow_m["clock"])), display=False)
glue("vocab", sg_m["vocab_size"], display=False)
glue("corpus_tokens", sg_m["corpus_tokens"], display=False)
glue("epochs", cfg.epochs, display=False)

# %% [markdown]
# Over {glue:text}`epochs` epochs of {glue:text}`corpus_tokens:,` tokens (a vocabulary
# of {glue:text}`vocab:,` words), skip-gram learned from
# {glue:text}`sg_examples:.1f` million pairs in {glue:text}`sg_seconds:.0f` s,
# {glue:text}`sg_rate:.2f` million pairs per second; CBOW, with one example per
# position, took {glue:text}`cbow_seconds:.0f` s ({glue:text}`w2v_clock`: the book's
# compute clock, measured when the artefacts were trained).
#
# ## Evaluating word vectors
#
# ### Analogies
#
# Mikolov et al.'s test set {cite:p}`mikolov2013` asks questions of the form "*a* is to
# *b* as *c* is to ?": *man* : *king* :: *woman* : ?. With unit-length vectors, the
# answer by **3CosAdd** {cite:p}`levy2014` is the word whose vector is closest to
# $\mathbf{b} - \mathbf{a} + \mathbf{c}$ (the scores that `analogy` returns are these
# cosines),
#
# $$
# d^\ast = \operatorname*{arg\,max}_{d \notin \{a, b, c\}}
#   \cos(\mathbf{d},\ \mathbf{b} - \mathbf{a} + \mathbf{c}),
# $$
#
# excluding the three question words (otherwise the answer is usually $b$ or $c$
# itself). A hand-made check with four words and a distractor, where "royal" is the
# third coordinate:

# %%
hand_words = ["man", "woman", "king", "queen", "apple"]
hand_vectors = torch.tensor([
    [1.0, 0.0, 0.0],  # man
    [0.0, 1.0, 0.0],  # woman
    [1.0, 0.0, 1.0],  # king = man + royal
    [0.0, 1.0, 1.0],  # queen = woman + royal
    [1.0, 1.0, -1.0],  # apple
])
wv.analogy(hand_vectors, hand_words, "man", "king", "woman", k=2)

# %%
answer = wv.analogy(hand_vectors, hand_words, "man", "king", "woman", k=1)
assert answer[0][0] == "queen"

# %% [markdown]
# The evaluator answers all 19,544 questions in batches, category by category. A
# question counts only if all four words are in the vocabulary (in their own casing,
# else in their most frequent one); the share of questions that qualify is the
# **coverage**, and accuracy is over the covered questions. As in gensim's evaluation,
# casing never makes an answer: a case variant of a question word ("King" for "king")
# is excluded too, and one of the expected word ("Queen" for "queen") counts as right.
#
# ```{literalinclude} ../lib/n2t/vectors.py
# :caption: lib/n2t/vectors.py
# :pyobject: evaluate_analogies
# :lines: 1-6,12-
# ```

# %%
questions = n2t.data.analogy_questions()
results = {
    name: wv.evaluate_analogies(m.state["vectors"], m.state["itos"], questions)
    for name, m in models.items()
}
sg_result = results["skip-gram"]
assert sum(sg_result.total.values()) == 19_544
rows = [
    (c, sg_result.total[c], sg_result.covered[c],
     *(f"{100 * r.category_accuracy(c):.1f}%" for r in results.values()))
    for c in questions
]
rows.append(("all", 19_544, sum(sg_result.covered.values()),
             *(f"{100 * r.accuracy:.1f}%" for r in results.values())))
display(markdown_table(["category", "questions", "covered", "skip-gram", "CBOW"], rows))

# %% tags=["remove-cell"]
for name, r in results.items():
    key = "sg" if name == "skip-gram" else "cbow"
    glue(f"{key}_acc", 100 * r.accuracy, display=False)
    glue(f"{key}_sem", 100 * r.semantic_accuracy, display=False)
    glue(f"{key}_syn", 100 * r.syntactic_accuracy, display=False)
glue("coverage", 100 * sg_result.coverage, display=False)
best_categories = sorted(questions, key=sg_result.category_accuracy, reverse=True)[:3]
best_names = ", ".join(best_categories)
glue("best_categories", Text(best_names), display=False)
glue("best_category_acc", 100 * sg_result.category_accuracy(best_categories[0]),
     display=False)
assert sg_result.accuracy == skipgram.metrics["analogy_accuracy"]

# %% [markdown]
# Only {glue:text}`coverage:.0f`% of the questions have all four words in the
# vocabulary. Of those, skip-gram answers {glue:text}`sg_acc:.1f`%
# ({glue:text}`sg_sem:.1f`% of the semantic questions, {glue:text}`sg_syn:.1f`% of the
# syntactic ones) and CBOW {glue:text}`cbow_acc:.1f`%. The categories that work best
# for skip-gram are {glue:text}`best_categories` (up to
# {glue:text}`best_category_acc:.0f`%).
#
# ### Similarity
#
# WordSim-353 {cite:p}`finkelstein2002` and MEN {cite:p}`bruni2014` give word pairs
# with human similarity judgements ("tiger"–"cat" {glue:text}`tiger_cat` out of 10). A
# model scores each pair with the cosine of its two vectors, and the agreement with
# people is **Spearman's rank correlation** $\rho$: rank both lists (ties share the
# mean of their ranks) and take Pearson's correlation of the ranks. Without ties it
# reduces to the textbook $\rho = 1 - 6 \sum_i d_i^2 / (n(n^2-1))$, with $d_i$ the rank
# differences:

# %%
x = torch.tensor([3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0])
y = torch.tensor([2.0, 7.0, 1.0, 8.0, 2.5, 8.5, 0.0, 4.0])
rank_diff = wv.rank(x) - wv.rank(y)
textbook = 1 - 6 * float((rank_diff**2).sum()) / (len(x) * (len(x) ** 2 - 1))
assert math.isclose(wv.spearman(x, y), textbook, rel_tol=1e-12)
assert wv.rank(torch.tensor([1.0, 2.0, 2.0, 3.0])).tolist() == [1, 2.5, 2.5, 4]
wv.spearman(x, y)

# %%
benchmarks = {"WordSim-353": n2t.data.wordsim353(), "MEN": n2t.data.men()}
similarity = {
    name: {
        bench: wv.evaluate_similarity(m.state["vectors"], m.state["itos"], pairs)
        for bench, pairs in benchmarks.items()
    }
    for name, m in models.items()
}
display(markdown_table(["benchmark", "pairs covered", "skip-gram ρ", "CBOW ρ"], [
    (bench, f"{s.covered} of {s.total}",
     *(f"{similarity[name][bench].rho:.3f}" for name in models))
    for bench, s in similarity["skip-gram"].items()
]))

# %% tags=["remove-cell"]
for name, key in (("skip-gram", "sg"), ("CBOW", "cbow")):
    glue(f"{key}_ws", similarity[name]["WordSim-353"].rho, display=False)
    glue(f"{key}_men", similarity[name]["MEN"].rho, display=False)
sg_similarity = similarity["skip-gram"]
glue("ws_coverage", 100 * sg_similarity["WordSim-353"].coverage, display=False)
glue("men_coverage", 100 * sg_similarity["MEN"].coverage, display=False)

# %% [markdown]
# Skip-gram's cosines agree with people with $\rho =$ {glue:text}`sg_ws:.2f` on
# WordSim-353 ({glue:text}`ws_coverage:.0f`% of the pairs covered) and
# {glue:text}`sg_men:.2f` on MEN ({glue:text}`men_coverage:.0f`% covered); CBOW's with
# {glue:text}`cbow_ws:.2f` and {glue:text}`cbow_men:.2f`.
#
# ### Nearest neighbours
#
# The words with the most similar skip-gram vectors:

# %%
sg_vectors, sg_itos = skipgram.state["vectors"], skipgram.state["itos"]
queries = ["king", "France", "music", "river", "war", "three", "played", "good"]
neighbours = {
    q: wv.nearest(sg_vectors, sg_itos, q, k=6) for q in queries if q in sg_itos
}
display(markdown_table(["word", "nearest neighbours (cosine)"], [
    (q, ", ".join(f"{w} ({c:.2f})" for w, c in found))
    for q, found in neighbours.items()
]))

# %% [markdown]
# ### A map of the vectors
#
# A projection onto the first two principal components of a few groups of words
# (the 100 dimensions squeezed into two lose most of the structure, but groups that
# the vectors separate well stay apart):

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Skip-gram vectors of four groups of words (numbers, months, countries, family words), projected onto their first two principal components.", "name": "fig-w2v-map"}, "image": {"alt": "A scatter plot of labelled words; words of the same group (numbers, months, countries, family) tend to lie in the same region."}}
groups = {
    "numbers": ["two", "three", "four", "five", "six", "seven"],
    "months": ["January", "March", "May", "July", "September", "November"],
    "countries": ["France", "Germany", "Italy", "Spain", "Japan", "China"],
    "family": ["father", "mother", "son", "daughter", "brother", "sister"],
}
lookup = wv.Lookup(sg_itos)
shown = {g: [w for w in ws if lookup.get(w) is not None] for g, ws in groups.items()}
words = [w for ws in shown.values() for w in ws]
points = n2t.plot.pca_2d(wv.unit_rows(sg_vectors)[[lookup[w] for w in words]])
fig, ax = plt.subplots(figsize=(6, 4.5))
n2t.plot.scatter_2d(
    points, words, groups=[group for group, ws in shown.items() for _ in ws],
    xlabel="principal component 1", ylabel="principal component 2", ax=ax,
)
plt.show()

# %% [markdown]
# ### Against the neural language model's vectors
#
# The NNLM of {doc}`03_neural_lm` learned a vector per word too, as a by-product of
# predicting the next word from the four before it. The same measures on the same
# questions and pairs (its vocabulary keeps every WikiText-2 type, so it covers more):

# %%
nnlm_artefact = zoo.get("nnlm")
rivals = {name: (m.state["vectors"], m.state["itos"]) for name, m in models.items()}
rivals["NNLM"] = (nnlm_artefact.state["embedding"], nnlm_artefact.state["itos"])
rival_scores = {}
for name, (vectors, itos) in rivals.items():
    analogies = wv.evaluate_analogies(vectors, itos, questions)
    ws, men_result = (wv.evaluate_similarity(vectors, itos, pairs)
                      for pairs in benchmarks.values())
    rival_scores[name] = (analogies, ws, men_result)
display(markdown_table(
    ["vectors", "analogy accuracy", "questions covered", "WordSim-353 ρ", "MEN ρ"],
    [(name, f"{100 * a.accuracy:.1f}%", f"{100 * a.coverage:.0f}%", f"{ws.rho:.3f}",
      f"{men_result.rho:.3f}") for name, (a, ws, men_result) in rival_scores.items()],
))

# %% tags=["remove-cell"]
nnlm_analogies, nnlm_ws, nnlm_men = rival_scores["NNLM"]
glue("nnlm_acc", 100 * nnlm_analogies.accuracy, display=False)
glue("nnlm_ws", nnlm_ws.rho, display=False)
glue("nnlm_men", nnlm_men.rho, display=False)

# %% [markdown]
# The NNLM's vectors answer {glue:text}`nnlm_acc:.1f`% of the analogies they cover and
# reach $\rho =$ {glue:text}`nnlm_ws:.2f` on WordSim-353 and {glue:text}`nnlm_men:.2f`
# on MEN, against skip-gram's {glue:text}`sg_acc:.1f`%, {glue:text}`sg_ws:.2f` and
# {glue:text}`sg_men:.2f`. The two were not trained alike: the NNLM's vectors were a
# means to predict the next word, and its training budget went mostly to the hidden
# layer and the output layer; word2vec spends all of its budget on the vectors, with a
# window on both sides of each word.

# %% [markdown]
# ## The honest part
#
# ### King − man + woman

# %%
king = wv.analogy(sg_vectors, sg_itos, "man", "king", "woman", k=5)
king_cbow = wv.analogy(cbow.state["vectors"], cbow.state["itos"], "man", "king",
                        "woman", k=5)
display(markdown_table(["rank", "skip-gram", "CBOW"], [
    (i + 1, f"{a} ({sa:.2f})", f"{b} ({sb:.2f})")
    for i, ((a, sa), (b, sb)) in enumerate(zip(king, king_cbow, strict=True))
]))

# %% tags=["remove-cell"]
def queen_rank(model):
    """Where "queen" comes among the 100 best answers to man : king :: woman : ?."""
    top = wv.analogy(model.state["vectors"], model.state["itos"], "man", "king",
                      "woman", k=100)
    words = [w for w, _ in top]
    if "queen" not in words:
        return "not in the top 100"
    return f"number {words.index('queen') + 1}"


glue("king_answer", Text(f"“{king[0][0]}”"), display=False)
glue("king_answer_cbow", Text(f"“{king_cbow[0][0]}”"), display=False)
glue("queen_rank", Text(queen_rank(skipgram)), display=False)
glue("queen_rank_cbow", Text(queen_rank(cbow)), display=False)

# %% [markdown]
# The famous analogy gives {glue:text}`king_answer` as skip-gram's first answer, and
# "queen" comes {glue:text}`queen_rank`; CBOW answers {glue:text}`king_answer_cbow` and
# puts "queen" {glue:text}`queen_rank_cbow`. On a couple of million tokens the vector
# offsets that make analogies work are still faint.
#
# ### Analogies need data
#
# Analogy accuracy is low here, and it is not a bug: the original models learned from
# billions of tokens, WikiText-2 has two million. The curve below trains the same
# skip-gram on growing shares of the training text:
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py
# :pyobject: train_curves
# :lines: 1-2,4-
# ```

# %%
curves_artefact = zoo.get("word2vec-curves")
growth = curves_artefact.metrics["growth"]
markdown_table(["share of the text", "training tokens", "analogy accuracy"],
               [(f"1/{round(1 / r['share'])}", f"{r['corpus_tokens']:,}",
                 f"{100 * r['analogy_accuracy']:.1f}%") for r in growth])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Skip-gram's analogy accuracy (semantic and syntactic questions, on the questions covered) and the Spearman ρ of WordSim-353 and MEN against the number of training tokens, each point a model trained on a share of WikiText-2's training text.", "name": "fig-w2v-growth"}, "image": {"alt": "Curves rising with the number of training tokens on a logarithmic axis: analogy accuracy stays low but grows, and so do the WordSim-353 and MEN correlations."}}
tokens = [r["corpus_tokens"] for r in growth]
fig, (ax_a, ax_s) = plt.subplots(1, 2, figsize=(8, 3.2))
n2t.plot.curves({
    "all": (tokens, [100 * r["analogy_accuracy"] for r in growth]),
    "semantic": (tokens, [100 * r["analogy_semantic"] for r in growth]),
    "syntactic": (tokens, [100 * r["analogy_syntactic"] for r in growth]),
}, xlabel="training tokens", ylabel="analogy accuracy (%)", logx=True, ax=ax_a)
n2t.plot.curves({
    "WordSim-353": (tokens, [r["ws353_rho"] for r in growth]),
    "MEN": (tokens, [r["men_rho"] for r in growth]),
}, xlabel="training tokens", ylabel="Spearman ρ", logx=True, ax=ax_s)
plt.show()

# %% tags=["remove-cell"]
glue("growth_first_acc", 100 * growth[0]["analogy_accuracy"], display=False)
glue("growth_first_tokens", growth[0]["corpus_tokens"], display=False)
glue("growth_last_acc", 100 * growth[-1]["analogy_accuracy"], display=False)
glue("growth_first_ws", growth[0]["ws353_rho"], display=False)
glue("growth_last_ws", growth[-1]["ws353_rho"], display=False)
glue("first_share", Text(f"1/{round(1 / growth[0]['share'])}"), display=False)
measures = {"acc": "analogy_accuracy", "ws": "ws353_rho", "men": "men_rho"}
for key, metric in measures.items():
    reached = growth[0][metric] / max(growth[-1][metric], 1e-12)
    glue(f"reached_{key}", 100 * reached, display=False)

# %% [markdown]
# From {glue:text}`growth_first_tokens:,` tokens to the whole training text, analogy
# accuracy goes from {glue:text}`growth_first_acc:.1f`% to
# {glue:text}`growth_last_acc:.1f`% and the WordSim-353 correlation from
# {glue:text}`growth_first_ws:.2f` to {glue:text}`growth_last_ws:.2f`
# ({numref}`fig-w2v-growth`). Trained on {glue:text}`first_share` of the text, the
# vectors already reach {glue:text}`reached_men:.0f`% of the final MEN correlation and
# {glue:text}`reached_ws:.0f`% of the WordSim-353 one, but only
# {glue:text}`reached_acc:.0f`% of the final analogy accuracy. Similarity needs only
# that related words share contexts; an analogy needs the *offset* between two vectors
# (man → king) to match the offset between two others (woman → queen), across many
# pairs at once — and that takes far more text than WikiText-2 has. Mikolov et al.
# trained on billions of tokens.
#
# (sec-w2v-threshold)=
# ### The subsampling threshold on a small corpus
#
# The same skip-gram, on all the training text, with each threshold $t$:

# %%
sweep = curves_artefact.metrics["subsampling"]
sweep_header = ["t", "tokens kept", "analogy accuracy", "WordSim-353 ρ", "MEN ρ"]
display(markdown_table(sweep_header, [
    (f"{r['t']:g}", f"{100 * kept_share(r['t']):.0f}%",
     f"{100 * r['analogy_accuracy']:.1f}%",
     f"{r['ws353_rho']:.3f}", f"{r['men_rho']:.3f}")
    for r in sweep
]))

# %% tags=["remove-cell"]
best_t = max(sweep, key=lambda r: r["analogy_accuracy"])
glue("best_t", Text(f"{best_t['t']:g}"), display=False)
glue("acc_1e5", 100 * sweep[0]["analogy_accuracy"], display=False)
glue("t_smallest", Text(f"{sweep[0]['t']:g}"), display=False)

# %% [markdown]
# With $t =$ {glue:text}`t_smallest` skip-gram answers only {glue:text}`acc_1e5:.1f`%
# of the analogies: on two million tokens the paper's threshold throws away most of
# what little evidence there is about the mid-frequency words that the questions ask
# about. The best threshold here is $t =$ {glue:text}`best_t`. Subsampling trades data
# for speed and balance, and on a small corpus data is what is short.
#
# ## Where the time goes
#
# gensim's word2vec {cite:p}`rehurek2010` runs the same algorithm in a compiled loop:
# for one pair it reads the $K+1$ rows it needs, updates them, and moves on while they
# are still in the processor's cache. Our step is batched PyTorch: it gathers the rows
# of a thousand pairs into new tensors, computes, and scatters the gradients back with
# `index_add_`. Timing the three phases of a simplified skip-gram step of the size the
# library uses (the loss and the `used` mask left out) shows which dominates:

# %% tags=["hide-input"]
def time_phases(pairs, repeats=30, seed=0):
    """Milliseconds per step spent gathering rows, computing, scattering gradients."""
    g = torch.Generator().manual_seed(seed)
    w_in, w_out = sg_vectors.clone(), skipgram.state["out_vectors"].clone()
    words = torch.randint(0, len(sg_itos), (pairs,), generator=g)
    rows = torch.randint(0, len(sg_itos), (cfg.negatives + 1, pairs), generator=g)
    labels = torch.zeros(cfg.negatives + 1, pairs)
    labels[0] = 1.0

    def gather():  # index_select, as the library does (faster than w_in[words])
        return w2v.gather_rows(w_in, words), w2v.gather_rows(w_out, rows)

    def compute(v, u):
        step = (torch.sigmoid((u * v).sum(2)) - labels) * -1e-3
        return (step[:, :, None] * u).sum(0), step[:, :, None] * v

    def scatter(update_v, update_u):
        w_in.index_add_(0, words, update_v)
        w_out.index_add_(0, rows.reshape(-1), update_u.reshape(-1, w_in.shape[1]))

    v, u = gather()
    updates = compute(v, u)
    phases = {"gather rows": (gather, ()), "arithmetic": (compute, (v, u)),
              "scatter-add rows": (scatter, updates)}
    times = {}
    for name, (fn, args) in phases.items():
        fn(*args)  # warm up
        with Timer() as t:
            for _ in range(repeats):
                fn(*args)
        times[name] = 1000 * t.seconds / repeats
    return times


phase_ms = time_phases(cfg.batch_size)
markdown_table(["phase of one step", "milliseconds"],
               [(name, f"{ms:.2f}") for name, ms in phase_ms.items()])

# %% tags=["remove-cell"]
memory_share = 1 - phase_ms["arithmetic"] / sum(phase_ms.values())
glue("step_pairs", cfg.batch_size, display=False)
glue("memory_share", 100 * memory_share, display=False)

# %% [markdown]
# In a step of {glue:text}`step_pairs:,` pairs, moving rows in and out of the tables
# takes {glue:text}`memory_share:.0f`% of the time; the dot products and gradients
# themselves take the rest. The arithmetic is gensim's (up to gensim's sigmoid, read
# from a table, and its skip of an update where $|s| \ge 6$), but each row
# crosses the memory bus several times instead of once: every line of the step writes
# a new tensor that the next line reads back. A compiler can remove that traffic.
# `torch.compile` traces the step into a graph and its backend, inductor, writes C++
# loops that fuse the gathers, the arithmetic and the scatters, so that each row is
# read and written about once. The library wraps the step in `CompiledStep`, which
# falls back to the plain step, with a warning, where no C++ compiler is at hand:
#
# ```{literalinclude} ../lib/n2t/word2vec.py
# :caption: lib/n2t/word2vec.py
# :pyobject: CompiledStep
# ```
#
# Every step has the same shape (`batch_size` examples; an epoch's last, shorter step
# runs uncompiled), so the step compiles once — a few seconds, cached on disk after
# the first time. Timing both versions on the same batch:

# %%
def step_ms(step, batch, repeats=30):
    """Milliseconds per skip-gram step on fresh copies of the trained tables."""
    tables = (sg_vectors.clone(), skipgram.state["out_vectors"].clone())
    step(*tables, *batch, 1e-3)  # warm up (and compile)
    with Timer() as t:
        for _ in range(repeats):
            step(*tables, *batch, 1e-3)
    return 1000 * t.seconds / repeats


g = torch.Generator().manual_seed(0)
step_batch = tuple(torch.randint(0, len(sg_itos), shape, generator=g)
                   for shape in [(cfg.batch_size,), (cfg.batch_size,),
                                 (cfg.batch_size, cfg.negatives)])
fused_step = w2v.CompiledStep(w2v.skipgram_step)
plain_ms = step_ms(w2v.skipgram_step, step_batch)
fused_ms = step_ms(fused_step, step_batch)
compiled_here = fused_step.compiled is not None
markdown_table(["skip-gram step", "milliseconds"],
               [("plain", f"{plain_ms:.2f}"), ("compiled", f"{fused_ms:.2f}")])

# %% tags=["remove-cell"]
if compiled_here and fused_ms < plain_ms:
    verdict = (f"The compiled step takes {fused_ms:.2f} ms instead of "
               f"{plain_ms:.2f} ms, {plain_ms / fused_ms:.1f} times faster")
elif compiled_here:  # a busy machine can reverse a ratio this small: say so, never fail
    verdict = (f"In this run the compiled step took {fused_ms:.2f} ms and the plain "
               f"one {plain_ms:.2f} ms: no faster (timings vary with the load)")
else:
    verdict = ("torch.compile could not compile the step on this machine (no C++ "
               "compiler?), so both timings are of the plain step")
glue("compile_verdict", Text(verdict), display=False)
glue("batch_size", cfg.batch_size, display=False)
glue("compile_used", Text("compiles" if cfg.use_compile else "does not compile"),
     display=False)

# %% [markdown]
# {glue:text}`compile_verdict`. The profile decides whether training uses it: the
# `full` profile compiles, the `quick` one does not, as its small runs would spend
# more time compiling than training (this build {glue:text}`compile_used`). The
# benchmark (`make bench`, `tests/benchmarks/bench_word2vec.py`) trains gensim and
# both of our models with the same settings, each side over the same seeds — one seed
# is not enough, as even gensim's analogy accuracy moves from seed to seed by about as
# much as the two implementations differ — and prints every seed's accuracy, $\rho$
# and training time (compiling included), each side's mean and spread, and the ratios
# of the means. Batching still changes the algorithm slightly, even shuffled: a
# frequent word that appears many times in one batch receives the sum of its updates at
# once, all computed from the tables as they were before the step. That is why the
# batches stay small (here {glue:text}`batch_size` examples) and the learning rate
# stays word2vec's.

# %% [markdown]
# ## What word2vec cannot do
#
# A word2vec vector is one point per word type, whatever the sentence: "bank" has one
# vector for rivers and money alike, and "not good" is two independent words. The
# vectors also know nothing of order beyond the window. They are, however, cheap, and
# they carry what co-occurrence teaches about meaning into any model that starts from
# them — which is what the next chapters do: first as fixed inputs to a classifier
# (transfer learning), then as the bottom layer of models that compute a vector for
# each word *in its context*.
#
# ## Exercises
#
# 1. Derive the gradient of the CBOW loss with respect to one context word's vector
#    and compare it with the update `cbow_step` applies. Change `cbow_step` to follow
#    the chain rule (the $1/n$ share), check it against autograd, retrain CBOW: what
#    happens to the evaluations?
# 2. Replace the noise distribution's power $3/4$ by $0$ (uniform) and $1$ (unigram).
#    Train skip-gram on a quarter of WikiText-2 with each and compare analogy accuracy
#    and WordSim-353 $\rho$.
# 3. Implement **3CosMul** {cite:p}`levy2014`,
#    $\arg\max_d \cos(d, b)\cos(d, c) / (\cos(d, a) + \varepsilon)$ with cosines shifted
#    to $[0, 1]$, and compare it with 3CosAdd on the skip-gram vectors, category by
#    category.
# 4. Use the sum $\mathbf{v}_w + \mathbf{u}_w$ of the input and output vectors
#    (`state["out_vectors"]`) as the word vector. Does it help on similarity? On
#    analogies?
# 5. Skip-gram gives each position up to $2c$ examples and CBOW one. Train both for the
#    same wall-clock time instead of the same number of epochs: which is better then?
# 6. Why does the analogy evaluator exclude $a$, $b$ and $c$? Evaluate without the
#    exclusion and look at the answers it gives.
# 7. Train skip-gram with each epoch's pairs in text order instead of shuffled (make
#    `torch.randperm` return `torch.arange` while `w2v.train` runs) over three seeds,
#    and compare analogy accuracy and $\rho$ with the shuffled runs. Then halve and
#    double `batch_size`. Which words' updates does a batch in text order add up?
