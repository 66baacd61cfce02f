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
# # Counting: statistical language models
#
# Every model in this book answers the same question: *how likely is this piece of text, and what comes
# next?* The first answer, and the oldest, is to count. This chapter builds n-gram language models from
# counts {cite:p}`shannon1948,jurafsky2025`, finds out why raw counts fail, repairs them with smoothing up to
# interpolated modified Kneser–Ney {cite:p}`kneser1995,chen1998`, and measures every variant with perplexity
# on the WikiText-2 test set {cite:p}`merity2016`. That number is the baseline that every later model in the
# book has to beat on the same test tokens.

# %% tags=["remove-cell"]
import html
import math
from collections import Counter
from itertools import pairwise

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from n2t.book import glue

import n2t.data
import n2t.plot
import n2t.profile
from n2t import ngram
from n2t.train import Timer, progress

n2t.plot.use_book_style()


class Text:
    """A glued string shown without quotes by {glue:text}."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


cfg = n2t.profile.current().settings("ngram_models")

# %% [markdown]
# ## What a language model does
#
# A language model assigns a probability to every sequence of words. It lets us **score** sentences — a good
# model prefers "I like to eat apples" to "I like to eat tables" — and **predict** the next word: after
# "I like to eat", "apples" should get more probability than "tables". Both uses are the same object, because
# the chain rule of probability factorises the probability of a sentence $w_1 \dots w_T$ into next-word
# predictions:
#
# $$
# P(w_1, \dots, w_T) = \prod_{t=1}^{T} P(w_t \mid w_1, \dots, w_{t-1}).
# $$
#
# The chain rule is exact, and it turns language modelling into one task: estimate $P(w_t \mid \text{history})$.
#
# ## The Markov assumption
#
# The obvious estimate divides counts: how often did the history occur, and how often was it followed by
# $w_t$? But almost every long history occurs once or never, even in a large corpus, so its counts say
# nothing. The **Markov assumption** forgets all but the last $n-1$ words:
#
# $$
# P(w_t \mid w_1, \dots, w_{t-1}) \approx P(w_t \mid w_{t-n+1}, \dots, w_{t-1}).
# $$
#
# With $n = 1$ (a **unigram** model) each word is drawn independently of the others; with $n = 2$ (a
# **bigram** model) it depends on the previous word only; a **trigram** model looks at two previous words, and
# an **n-gram** model at $n - 1$.

# %% [markdown]
# ## Maximum likelihood: probabilities from counts
#
# The maximum-likelihood estimate (MLE) of a bigram probability is a ratio of counts,
#
# $$
# P_{\text{MLE}}(w_i \mid w_{i-1}) = \frac{C(w_{i-1}\, w_i)}{C(w_{i-1})}.
# $$
#
# Here is a corpus small enough to count by hand.

# %%
toy_text = [
    "the cat sits on the mat",
    "the cat sits",
    "a cat sits on a mat",
    "the cat sits here",
    "my cat naps",
    "the cat eats",
    "a cat eats fish",
    "the cat runs",
    "the cat sleeps on the mat",
    "that cat purrs",
    "the dog runs on the mat",
]
toy = [line.split() for line in toy_text]
unigrams = Counter(w for s in toy for w in s)
bigrams = Counter((a, b) for s in toy for a, b in pairwise(s))
bigrams["cat", "sits"], unigrams["cat"], bigrams["cat", "sits"] / unigrams["cat"]

# %%
assert (bigrams["cat", "sits"], unigrams["cat"]) == (4, 10)
glue("toy_cat_sits", bigrams["cat", "sits"], display=False)
glue("toy_cat", unigrams["cat"], display=False)

# %% [markdown]
# "cat" occurs {glue:text}`toy_cat` times and is followed by "sits" {glue:text}`toy_cat_sits` times, so
# $P_{\text{MLE}}(\text{sits} \mid \text{cat}) = $ {glue:text}`toy_cat_sits`/{glue:text}`toy_cat`.
#
# The library's `NGramLM` does the same with two conventions, those of WikiText-2: each
# line is a sentence, and the model predicts every word **and one end-of-sentence token** `<eos>` per line (so
# it learns where sentences stop). The context at the start of a line is padded with the begin-of-sentence
# token `<bos>`, which the model reads but never predicts. Counting is vectorised: each context is a node of a
# trie, numbered with `np.unique` over packed int64 keys, and each n-gram is the key
# $\text{node} \cdot |V| + \text{word}$, so not one Python loop runs over the tokens:
#
# ```{literalinclude} ../lib/n2t/ngram.py
# :pyobject: NGramCounts.__init__
# :language: python
# ```

# %%
toy_mle = ngram.NGramLM(2, "mle").fit(toy)
assert math.isclose(math.exp(toy_mle.logprob("sits", ["cat"])), 4 / 10, rel_tol=1e-12)
toy_mle.next_token_distribution(["cat"]).round(2)

# %% [markdown]
# ## Counting WikiText-2
#
# Now the real corpus. The vocabulary is every type of the training split plus `<eos>` (WikiText-2 already
# replaced rare words by `<unk>`); the models are fitted on the training lines, weights are tuned on the
# validation lines, and every model is scored on the whole test split.

# %%
vocab = ngram.vocabulary(n2t.data.wikitext2_lines("train"))
train = n2t.data.wikitext2_lines("train", cfg.train_lines)
valid = n2t.data.wikitext2_lines("valid", cfg.valid_lines)
test = n2t.data.wikitext2_lines("test")
with Timer() as count_time:
    counts = ngram.NGramCounts(train, cfg.max_order, vocab)
counts

# %%
assert len(vocab) == 33_278
test_tokens = sum(len(line) + 1 for line in test)
assert test_tokens == 245_569  # every word and one <eos> per line
glue("vocab_size", len(vocab), display=False)
glue("train_tokens", counts.tokens, display=False)
glue("test_tokens", test_tokens, display=False)
glue("count_seconds", count_time.seconds, display=False)
glue("max_order", cfg.max_order, display=False)

# %% [markdown]
# The models see {glue:text}`train_tokens:,` training tokens over a vocabulary of
# {glue:text}`vocab_size:,` types, and are scored on {glue:text}`test_tokens:,` test tokens. Counting every
# n-gram up to order {glue:text}`max_order` took {glue:text}`count_seconds:.1f` s. A trigram MLE model already
# predicts sensibly after a frequent context:

# %%
mle3 = ngram.NGramLM(3, "mle").fit(counts)
p = mle3.next_token_distribution(["the", "United"])
likeliest = np.argsort(p)[::-1][:5]
[(mle3.vocab[i], round(float(p[i]), 3)) for i in likeliest]

# %% [markdown]
# ## Sparsity
#
# Counts are sparse: most n-grams that a new text contains never occurred in training, and the longer the
# n-gram, the worse. We measure it directly: for each test token, was the n-gram ending in it seen in training?

# %%
unseen = counts.unseen_rate(test)
orders = list(range(1, cfg.max_order + 1))
glue("unseen_2", 100 * unseen[1], display=False)
glue("unseen_max", 100 * unseen[-1], display=False)

# %% mystnb={"figure": {"caption": "The share of WikiText-2 test tokens whose n-gram never occurs in the training text, for n = 1 to 5.", "name": "fig-ngram-sparsity"}}
ax = n2t.plot.curves({"unseen in training": (orders, 100 * unseen)}, xlabel="n (order of the n-gram)", ylabel="test n-grams never seen (%)")
ax.set_xticks(orders)
ax.set_ylim(0, 100)
plt.show()

# %% [markdown]
# {glue:text}`unseen_2:.1f`% of the test bigrams and {glue:text}`unseen_max:.1f`% of the test
# {glue:text}`max_order`-grams never occur in the training text ({numref}`fig-ngram-sparsity`). Under the MLE
# each of them gets probability zero, and one zero makes the whole sentence impossible: its probability is a
# product, its log-probability is $-\infty$.

# %%
mle2 = ngram.NGramLM(2, "mle").fit(counts)
logp = mle2.token_logprobs(test)
zero_share = float(np.mean(np.isinf(logp)))
mle2.perplexity(test).perplexity, zero_share

# %%
assert mle2.perplexity(test).perplexity == math.inf and zero_share > 0
glue("mle2_zero_share", 100 * zero_share, display=False)

# %% [markdown]
# The bigram MLE gives probability zero to {glue:text}`mle2_zero_share:.1f`% of the test tokens, and its
# perplexity (defined next) is infinite. Every fix below does the same thing in a different way: it takes some
# probability away from the n-grams that were seen and gives it to those that were not — **smoothing**.

# %% [markdown]
# ## Perplexity
#
# A model is good if it gives high probability to text it has not seen. Averaging the negative
# log-probability over the $N$ predicted test tokens gives the **cross-entropy** $H$ (in bits), and the
# **perplexity** is its exponential:
#
# $$
# \text{PP} = P(w_1, \dots, w_N)^{-1/N} = \exp\Big(-\frac{1}{N} \sum_{t=1}^{N} \ln P(w_t \mid w_{t-n+1}^{t-1})\Big) = 2^{H}.
# $$
#
# Perplexity is the number of equally likely words a model is, on average, choosing between: a model that
# spreads its probability uniformly over $|V|$ words has perplexity exactly $|V|$. Lower is better, and a
# single zero probability makes it infinite.

# %%
uniform = ngram.NGramLM(1, "interpolation", lambdas=[1.0, 0.0]).fit(counts)  # all weight on 1/|V|
uniform_eval = uniform.perplexity(test)
assert uniform_eval.tokens == 245_569
assert math.isclose(uniform_eval.perplexity, len(vocab), rel_tol=1e-9)
uniform_eval.perplexity, uniform_eval.cross_entropy

# %% [markdown]
# ## Add-one and add-k smoothing
#
# The simplest fix pretends that every bigram was seen once more than it was (Laplace's add-one):
#
# $$
# P_{\text{add-1}}(w_i \mid w_{i-1}) = \frac{C(w_{i-1}\, w_i) + 1}{C(w_{i-1}) + |V|}.
# $$
#
# Checked by hand on the toy corpus, where $|V|$ counts its words, `<eos>` and `<unk>`:

# %%
laplace = ngram.NGramLM(2, "add_k", k=1).fit(toy)
V_toy = laplace.vocab_size
by_hand = (bigrams["cat", "sits"] + 1) / (unigrams["cat"] + V_toy)
assert math.isclose(math.exp(laplace.logprob("sits", ["cat"])), by_hand, rel_tol=1e-12)
assert math.isclose(math.exp(laplace.logprob("dog", ["cat"])), 1 / (unigrams["cat"] + V_toy), rel_tol=1e-12)
by_hand

# %% [markdown]
# With {glue:text}`vocab_size:,` types, adding one to every bigram moves most of the probability mass to
# bigrams that never occurred. Adding a smaller $k$,
# $P_{\text{add-}k} = (C(w_{i-1} w_i) + k) / (C(w_{i-1}) + k|V|)$, moves less; we pick $k$ for each order on the
# validation text, reusing one set of counts for every candidate:

# %%
def best_k(order):
    """The k of the grid with the lowest validation perplexity for add-k smoothing of this order."""
    scores = {k: ngram.NGramLM(order, "add_k", k=k).fit(counts).perplexity(valid).perplexity for k in cfg.k_grid}
    return min(scores, key=scores.get)


ks = {order: best_k(order) for order in orders}
ks

# %%
laplace_the = ngram.NGramLM(2, "add_k", k=1).fit(counts).next_token_distribution(["the"])
unseen_mass = float(laplace_the[mle2.next_token_distribution(["the"]) == 0].sum())
glue("laplace_unseen_mass", 100 * unseen_mass, display=False)
glue("best_k_2", ks[2], display=False)

# %% [markdown]
# After "the", add-one smoothing gives {glue:text}`laplace_unseen_mass:.0f`% of the probability to words that
# never followed "the" in training; the bigram model's best $k$ is {glue:text}`best_k_2`.

# %% [markdown]
# ## Linear interpolation
#
# Rather than invent counts, **interpolation** {cite:p}`jelinek1980` mixes the estimates of all orders, from
# the specific but sparse to the general but blunt:
#
# $$
# P_{\text{interp}}(w \mid h) = \lambda_0 \frac{1}{|V|} + \sum_{m=1}^{n} \lambda_m P_{\text{MLE}}(w \mid h_{m-1}),
# \qquad \sum_{m} \lambda_m = 1,
# $$
#
# where $h_{m-1}$ is the last $m-1$ words of the context (an MLE with an unseen context uses its longest seen
# suffix). The weights are tuned on the validation text by expectation–maximisation: each validation token
# credits each order with its share of the mixture's probability, and the shares, averaged, become the new
# weights.
#
# ```{literalinclude} ../lib/n2t/ngram.py
# :pyobject: NGramLM._tune_lambdas
# :language: python
# ```

# %%
interp3 = ngram.NGramLM(3, "interpolation").fit(counts, heldout=valid)
interp3.lambdas.round(3)

# %%
assert math.isclose(interp3.lambdas.sum(), 1.0, abs_tol=1e-9)
for m, weight in enumerate(interp3.lambdas):
    glue(f"lambda3_{m}", weight, display=False)

# %% [markdown]
# The trigram model puts weight {glue:text}`lambda3_3:.2f` on trigrams, {glue:text}`lambda3_2:.2f` on bigrams,
# {glue:text}`lambda3_1:.2f` on unigrams and {glue:text}`lambda3_0:.3f` on the uniform distribution.

# %% [markdown]
# ## Kneser–Ney smoothing
#
# Kneser–Ney smoothing {cite:p}`kneser1995` makes two changes.
#
# **Absolute discounting.** Subtract a fixed discount $D$ from every seen count and give the mass saved to the
# lower order. Chen and Goodman's *modified* version {cite:p}`chen1998` uses three discounts per order, for
# n-grams seen once, twice and three or more times, estimated from the **count-of-counts** $n_j$ (how many
# n-grams occur exactly $j$ times): $Y = n_1 / (n_1 + 2 n_2)$, $D_1 = 1 - 2Y n_2/n_1$, $D_2 = 2 - 3Y n_3/n_2$,
# $D_{3+} = 3 - 4Y n_4/n_3$. Interpolated, for a context $h$ with count $C(h)$:
#
# $$
# P_{\text{KN}}(w \mid h) = \frac{\max(C(h\,w) - D(C(h\,w)), 0)}{C(h)}
#   + \gamma(h)\, P_{\text{KN}}(w \mid h'), \qquad
# \gamma(h) = \frac{D_1 N_1(h\,\bullet) + D_2 N_2(h\,\bullet) + D_{3+} N_{3+}(h\,\bullet)}{C(h)},
# $$
#
# where $h'$ drops the oldest word of $h$ and $N_j(h\,\bullet)$ counts the words seen exactly $j$ times after
# $h$ ($3$ or more for $N_{3+}$). An unseen context leaves the lower order alone; below the unigrams sits the
# uniform distribution $1/|V|$.
#
# **Continuation counts.** The lower orders answer a different question from the highest: not "how frequent
# is $w$?" but "how likely is $w$ to appear *after a context we have not seen*?" "Francisco" is frequent, but it
# follows almost only "San"; a word that follows many different words is a better guess after a new context.
# So the lower orders replace $C(h\,w)$ by the number of distinct words that precede $h\,w$,
# $N_{1+}(\bullet\, h\, w)$.

# %%
preceding = counts.preceding_types()
frequency = np.bincount(counts.gram_keys[0] % len(vocab), weights=counts.gram_counts[0], minlength=len(vocab))
francisco = counts.stoi["Francisco"]
similar = np.flatnonzero(np.abs(frequency - frequency[francisco]) <= 0.1 * frequency[francisco])
rival = similar[np.argmax(preceding[similar])]  # as frequent as "Francisco", after the most different words
[(counts.itos[i], int(frequency[i]), int(preceding[i])) for i in (francisco, rival)]

# %%
glue("francisco_count", int(frequency[francisco]), display=False)
glue("francisco_preceding", int(preceding[francisco]), display=False)
glue("san_francisco", counts.count(["San", "Francisco"]), display=False)
glue("rival_word", Text(f"“{counts.itos[rival]}”"), display=False)
glue("rival_count", int(frequency[rival]), display=False)
glue("rival_preceding", int(preceding[rival]), display=False)

# %% [markdown]
# In the training text "Francisco" occurs {glue:text}`francisco_count` times, {glue:text}`san_francisco` of them
# after "San", and after only {glue:text}`francisco_preceding` distinct words; {glue:text}`rival_word`, about as
# frequent ({glue:text}`rival_count` times), follows {glue:text}`rival_preceding` distinct words, and its
# continuation count gives it that much more of the lower-order probability. The library estimates the
# discounts from count-of-counts and the continuation counts with the same sorted keys:
#
# ```{literalinclude} ../lib/n2t/ngram.py
# :pyobject: NGramLM._fit_kneser_ney
# :language: python
# ```
#
# To be sure the formulas are what the library computes, we build a bigram Kneser–Ney probability by hand on the
# toy corpus, discounts included:

# %%
padded = [["<bos>", *s, "<eos>"] for s in toy]
c2 = Counter((a, b) for s in padded for a, b in pairwise(s))  # bigram counts
c1 = Counter(b for a, b in c2)  # continuation counts N1+(• w)


def discounts(counts_of):
    """Chen & Goodman's D1, D2, D3+ from the count-of-counts."""
    n = Counter(counts_of)
    y = n[1] / (n[1] + 2 * n[2])
    return 1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3]


D2 = discounts(c2.values())
D1 = discounts(c1.values())
kn_toy = ngram.NGramLM(2, "kneser_ney").fit(toy)
assert np.allclose(kn_toy.discounts[2], D2, rtol=0, atol=1e-12)
D2

# %%
def discount(D, c):
    return 0.0 if c == 0 else D[min(c, 3) - 1]


def p_unigram(w):  # continuation counts, interpolated with the uniform distribution
    total = sum(c1.values())
    gamma = sum(discount(D1, c) for c in c1.values()) / total
    return max(c1[w] - discount(D1, c1[w]), 0) / total + gamma / kn_toy.vocab_size


def p_bigram(w, prev):
    after = {b: c for (a, b), c in c2.items() if a == prev}
    total = sum(after.values())
    gamma = sum(discount(D2, c) for c in after.values()) / total
    return max(after.get(w, 0) - discount(D2, after.get(w, 0)), 0) / total + gamma * p_unigram(w)


for w in ["sits", "eats", "dog", "<eos>"]:
    assert math.isclose(math.exp(kn_toy.logprob(w, ["cat"])), p_bigram(w, "cat"), rel_tol=1e-12)
p_bigram("sits", "cat"), p_bigram("dog", "cat")

# %% [markdown]
# The hand-built probabilities match the library's; the unit tests check the library against a slow
# pure-Python Kneser–Ney for orders 1 to 4 in the same way, and that every smoothed next-word distribution sums
# to one.

# %% [markdown]
# ## Results on WikiText-2
#
# Every method for every order from 1 to {glue:text}`max_order`, each fitted from the training text (counting
# included in the fit time) and scored on the same {glue:text}`test_tokens:,` test tokens:

# %%
methods = {
    "MLE": lambda n: ngram.NGramLM(n, "mle"),
    "add-one": lambda n: ngram.NGramLM(n, "add_k", k=1.0),
    "add-k": lambda n: ngram.NGramLM(n, "add_k", k=ks[n]),
    "interpolation": lambda n: ngram.NGramLM(n, "interpolation"),
    "Kneser–Ney": lambda n: ngram.NGramLM(n, "kneser_ney"),
}
results = {}  # (method, order) -> (perplexity, fit seconds)
for n, name in progress([(n, name) for n in orders for name in methods], desc="fit and score"):
    with Timer() as fit_time:
        model = methods[name](n).fit(train, vocab=vocab, heldout=valid)
    evaluation = model.perplexity(test)
    assert evaluation.tokens == 245_569
    results[name, n] = (evaluation.perplexity, fit_time.seconds)

# %% tags=["hide-input"]
def cell(ppl, seconds):
    return f"<td>{'∞' if math.isinf(ppl) else f'{ppl:,.1f}'} <small>({seconds:.1f} s)</small></td>"


rows = "".join(
    f"<tr><td>{n}</td>" + "".join(cell(*results[name, n]) for name in methods) + "</tr>" for n in orders
)
header = "<tr><th>order</th>" + "".join(f"<th>{name}</th>" for name in methods) + "</tr>"
display(HTML(f"<table><thead>{header}</thead><tbody>{rows}</tbody></table>"))

# %% mystnb={"figure": {"caption": "Test perplexity on WikiText-2 against the order of the n-gram model, for each smoothing method (the MLE appears only where its perplexity is finite).", "name": "fig-ngram-perplexity"}}
series = {}
for name in methods:
    finite = [(n, results[name, n][0]) for n in orders if math.isfinite(results[name, n][0])]
    if finite:
        series[name] = ([n for n, _ in finite], [ppl for _, ppl in finite])
ax = n2t.plot.curves(series, xlabel="n (order of the model)", ylabel="test perplexity", logy=True)
ax.set_xticks(orders)
plt.show()

# %%
top = int(orders[-1])
kn_best_order = min(orders, key=lambda n: results["Kneser–Ney", n][0])
mle_finite = [n for n in orders if math.isfinite(results["MLE", n][0])]
assert all(math.isfinite(results[name, n][0]) for name in methods if name != "MLE" for n in orders)
add_one = [results["add-one", n][0] for n in orders]
assert add_one[1] > results["Kneser–Ney", 1][0] and all(np.diff(add_one) > 0)  # add-one: worse with context
assert results["interpolation", top][0] < results["interpolation", 1][0]
assert results["Kneser–Ney", int(kn_best_order)][0] == min(ppl for ppl, _ in results.values())
glue("kn_top_ppl", results["Kneser–Ney", top][0], display=False)
glue("kn_top_fit", results["Kneser–Ney", top][1], display=False)
glue("kn_best_order", int(kn_best_order), display=False)
glue("kn_best_ppl", results["Kneser–Ney", int(kn_best_order)][0], display=False)
glue("interp_top_ppl", results["interpolation", top][0], display=False)
glue("add1_2_ppl", results["add-one", 2][0], display=False)
glue("addk_2_ppl", results["add-k", 2][0], display=False)
glue("unigram_ppl", results["Kneser–Ney", 1][0], display=False)
glue("mle_finite_orders", len(mle_finite), display=False)

# %% [markdown]
# The MLE is finite for only {glue:text}`mle_finite_orders` order(s): every longer model meets test n-grams it
# never saw. Add-one smoothing is worse than no context at all — its bigram perplexity is
# {glue:text}`add1_2_ppl:,.0f` against {glue:text}`unigram_ppl:,.0f` for the unigram model — and it gets worse
# with every order, because longer contexts are rarer and the invented counts swamp the real ones. A tuned $k$
# helps (bigram {glue:text}`addk_2_ppl:,.0f`) but shares the flaw. The methods that combine orders improve
# with context: interpolation reaches {glue:text}`interp_top_ppl:.1f` at order {glue:text}`max_order`, and
# Kneser–Ney is the best of all, {glue:text}`kn_best_ppl:.1f` at order {glue:text}`kn_best_order`
# ({numref}`fig-ngram-perplexity`). Fitting the {glue:text}`max_order`-gram Kneser–Ney model, counting
# included, took {glue:text}`kn_top_fit:.1f` s. The Kneser–Ney {glue:text}`max_order`-gram perplexity,
# {glue:text}`kn_top_ppl:.1f`, is the number later chapters compare against.

# %% [markdown]
# ## Generating text
#
# A language model is also a generator: sample a word from $P(\cdot \mid \text{context})$, append it, repeat
# until `<eos>`. A **temperature** $\tau$ reshapes the distribution to $p^{1/\tau}$ (renormalised): $\tau < 1$
# sharpens it towards the likeliest words, $\tau > 1$ flattens it.

# %%
kn2 = ngram.NGramLM(2, "kneser_ney").fit(counts)
kn_top = ngram.NGramLM(int(orders[-1]), "kneser_ney").fit(counts)
prompt = ["The"]
samples = {
    f"{model.order}-gram, τ = {tau}": " ".join(prompt + model.generate(40, temperature=tau, seed=1, context=prompt))
    for model in (kn2, kn_top)
    for tau in (1.0, 0.6)
}
display(HTML("".join(f"<p><b>{label}:</b> {html.escape(text)}</p>" for label, text in samples.items())))

# %% [markdown]
# Each sample starts a line with "The". The bigram samples are plausible word pairs strung into text that drifts
# from clause to clause; the {glue:text}`max_order`-gram model conditions on more words, so its phrases hold together
# for longer — and after a rare context, where only one continuation was ever counted, it copies the training
# text. No sample keeps a topic: the model's whole memory is its last $n - 1$ words. Lowering the temperature
# trades variety for the most frequent phrases.

# %% [markdown]
# ## What counting cannot do
#
# To a counting model every word is an unrelated symbol. In the toy corpus "cat sits" occurs
# {glue:text}`toy_cat_sits` times; "dog" occurs once, followed by "runs". Nothing carries over from cats to
# dogs: after "dog", Kneser–Ney gives "sits" exactly the share of the lower-order distribution that any other
# unseen word gets.

# %%
p_after_dog = kn_toy.next_token_distribution(["dog"])
p_lower = np.array([p_unigram(w) for w in kn_toy.vocab])
ratio = p_after_dog / p_lower
sits, mat = kn_toy.vocab.index("sits"), kn_toy.vocab.index("mat")
assert math.isclose(ratio[sits], ratio[mat], rel_tol=1e-12)  # "sits" learns nothing from "cat sits"
assert toy_mle.logprob("sits", ["dog"]) == -math.inf
ratio[sits], ratio[mat]

# %% [markdown]
# A model that knew that "cat" and "dog" are similar could lend the statistics of one to the other. That
# needs words represented not as symbols but as vectors, with similar words close together: **embeddings**,
# learned by the neural language model of the next chapter {cite:p}`bengio2003`.

# %% [markdown]
# ## Exercises
#
# 1. Compute by hand the add-one trigram probability $P(\text{mat} \mid \text{on the})$ on the toy corpus, and
#    check it with `NGramLM(3, "add_k", k=1)`.
# 2. Plot the fraction of *distinct* test n-grams (types rather than tokens) never seen in training for
#    $n = 1 \dots 5$. Why is it higher than the fraction of tokens?
# 3. Fit Kneser–Ney with a single discount $D = 0.75$ for every count (the original, unmodified method). How much
#    perplexity does the modified version gain on WikiText-2?
# 4. Interpolate with weights that depend on the context's count (Jelinek–Mercer with buckets): does it close the
#    gap to Kneser–Ney?
# 5. Sample 20 sentences from the 5-gram Kneser–Ney model and search the training text for their longest
#    stretches. How much of a sample is copied?
# 6. Why can the perplexity of a model never be below 1, and when would it equal 1?
