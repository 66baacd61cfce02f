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
# Every model in this book answers the same question: *how likely is this piece of
# text, and what comes next?* The first answer, and the oldest, is to count. This
# chapter builds n-gram language models from counts {cite:p}`shannon1948,jurafsky2025`,
# finds out why raw counts fail, repairs them with smoothing up to interpolated
# modified Kneser–Ney {cite:p}`kneser1995,chen1998`, and measures every variant with
# perplexity on the WikiText-2 test set {cite:p}`merity2016`. That number is the
# baseline that every later model in the book has to beat on the same test tokens.

# %% tags=["remove-cell"]
import html
import math
from collections import Counter
from itertools import pairwise

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display

import n2t.data
import n2t.plot
import n2t.profile
from n2t import counting, ngram
from n2t.book import Text, as_code, glue, markdown_table
from n2t.clock import clock_seconds, measured
from n2t.progress import progress
from n2t.train import Timer

n2t.plot.use_book_style()
cfg = n2t.profile.current().settings("ngram_models")

# %% [markdown]
# Every experiment in the book is sized by a *profile*: `full` for the numbers the book
# reports, `quick` for tests. This chapter's settings (`None`: the whole split):

# %%
dict(cfg)

# %% [markdown]
# ## What a language model does
#
# A language model assigns a probability to every sequence of words. It lets us
# **score** sentences — a good model prefers "He was born in London" to "He was born in
# tables" — and **predict** the next word: after "He was born in", "London" should get
# more probability than "tables". Both uses are the same object, because the chain rule
# of probability factorises the probability of a sequence $w_{1:T}$ into next-word
# predictions:
#
# $$
# P(w_{1:T}) = \prod_{t=1}^{T} P(w_t \mid w_{1:t-1}).
# $$
#
# The chain rule is exact, and it turns language modelling into one task: estimate
# $P(w_t \mid w_{1:t-1})$, the next word given its history.
#
# ## The Markov assumption
#
# The obvious estimate divides counts: how often did the history occur, and how often
# was it followed by $w_t$? But almost every long history occurs once or never, even in
# a large corpus, so its counts say nothing. The **Markov assumption** forgets all but
# the last $n-1$ words:
#
# $$
# P(w_t \mid w_{1:t-1}) \approx P(w_t \mid w_{t-n+1:t-1}).
# $$
#
# With $n = 1$ (a **unigram** model) each word is drawn independently of the others;
# with $n = 2$ (a **bigram** model) it depends on the previous word only; a **trigram**
# model looks at two previous words, and an **n-gram** model at $n - 1$.

# %% [markdown]
# ## Maximum likelihood: probabilities from counts
#
# The maximum-likelihood estimate (MLE) of an n-gram probability is a ratio of counts:
# how often the context $w_{t-n+1:t-1}$ was followed by $w_t$, divided by how often it
# occurred. For a bigram,
#
# $$
# P_{\text{MLE}}(w_t \mid w_{t-1}) = \frac{C(w_{t-1}\, w_t)}{C(w_{t-1})}.
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
cat_sits, cat = bigrams["cat", "sits"], unigrams["cat"]
cat_sits, cat, cat_sits / cat

# %% tags=["remove-cell"]
assert (bigrams["cat", "sits"], unigrams["cat"]) == (4, 10)
glue("toy_cat_sits", bigrams["cat", "sits"], display=False)
glue("toy_cat", unigrams["cat"], display=False)

# %% [markdown]
# "cat" occurs {glue:text}`toy_cat` times and is followed by "sits"
# {glue:text}`toy_cat_sits` times, so
# $P_{\text{MLE}}(\text{sits} \mid \text{cat}) = $
# {glue:text}`toy_cat_sits`/{glue:text}`toy_cat`.
#
# The library's `NGramLM` does the same with the conventions of WikiText-2, whose lines
# are paragraphs, headings or blank ({doc}`01_text_as_data`), not sentences. The model
# treats every line as one independent sequence: it pads the line's start with $n - 1$
# begin tokens `<bos>`, which it reads as context but never predicts, and it predicts
# every word of the line **and one end token** `<eos>` after it, so that it learns where
# lines stop. No context reaches back across a line break. Counting n-grams of every
# order this way takes a few lines with a `Counter`:

# %%
def count_ngrams(lines, n):
    """C(w_{t-n+1:t}) of every n-gram, lines padded as NGramLM pads them."""
    counts = Counter()
    for line in lines:
        padded = ["<bos>"] * (n - 1) + line + ["<eos>"]
        for t in range(n - 1, len(padded)):
            counts[tuple(padded[t - n + 1 : t + 1])] += 1
    return counts


toy_trigrams = count_ngrams(toy, 3)
toy_trigrams.most_common(3)

# %% [markdown]
# The library counts the same n-grams, and checks that both agree on every n-gram of
# the toy corpus up to order 3:

# %%
toy_counts = counting.NGramCounts(toy, 3)
for n in (1, 2, 3):
    by_hand = count_ngrams(toy, n)
    assert toy_counts.types(n) == len(by_hand)
    assert all(toy_counts.count(gram) == c for gram, c in by_hand.items())

# %% [markdown]
# The library's bigram MLE gives the same $P(\text{sits} \mid \text{cat})$:

# %%
toy_mle = ngram.NGramLM(2, "mle").fit(toy)
p_sits = math.exp(toy_mle.logprob("sits", ["cat"]))
assert math.isclose(p_sits, cat_sits / cat)
p_after_cat = toy_mle.next_token_distribution(["cat"])
{word: round(float(p), 2)
 for word, p in zip(toy_mle.vocab, p_after_cat, strict=True) if p > 0}

# %% [markdown]
# `NGramCounts` counts without a Python loop over the tokens: each context is a node
# of a trie, numbered with `np.unique` over packed int64 keys, and each n-gram is the
# key $\text{node} \cdot |V| + \text{word}$. On WikiText-2 it counts the trigrams
# {glue:text}`count_speedup:.1f` times as fast as the `Counter` loop (both are timed
# below). What the sorted int64 keys buy besides is that everything after counting —
# continuation counts, discounts, and the lookup of the probability of every test token
# — is a few array operations too, for any order.
#
# ::::{dropdown} How `NGramCounts` counts without a Python loop
# ```{literalinclude} ../lib/n2t/counting.py
# :pyobject: count_ngrams
# :language: python
# :caption: lib/n2t/counting.py — count_ngrams, called by NGramCounts.__init__
# ```
# ::::

# %% [markdown]
# ## Counting WikiText-2
#
# Now the real corpus. The vocabulary is every type of the training split plus `<eos>`
# (WikiText-2 already replaced rare words by `<unk>`); the models are fitted on the
# training lines, weights are tuned on the validation lines, and every model is scored
# on the whole test split.

# %%
vocab = counting.vocabulary(n2t.data.wikitext2_lines("train"))
train = n2t.data.wikitext2_lines("train", cfg.train_lines)
valid = n2t.data.wikitext2_lines("valid", cfg.valid_lines)
test = n2t.data.wikitext2_lines("test")
with Timer() as count_time:
    counts = counting.NGramCounts(train, cfg.max_order, vocab)
counts

# %% [markdown]
# For comparison, the trigrams alone counted both ways:

# %%
with Timer() as loop_time:
    trigrams_by_hand = count_ngrams(train, 3)
with Timer() as numpy_time:
    trigram_counts = counting.NGramCounts(train, 3, vocab)
assert trigram_counts.types(3) == len(trigrams_by_hand)
loop_time.seconds, numpy_time.seconds

# %% tags=["remove-cell"]
glue("loop_seconds", loop_time.seconds, display=False)
glue("numpy_seconds", numpy_time.seconds, display=False)
glue("count_speedup", loop_time.seconds / numpy_time.seconds, display=False)
del trigrams_by_hand, trigram_counts

# %% tags=["remove-cell"]
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
# {glue:text}`vocab_size:,` types, and are scored on {glue:text}`test_tokens:,` test
# tokens. Counting every n-gram up to order {glue:text}`max_order` took
# {glue:text}`count_seconds:.1f` s; the trigrams alone took
# {glue:text}`loop_seconds:.1f` s with the `Counter` loop and
# {glue:text}`numpy_seconds:.1f` s with NumPy, which counts the unigrams and bigrams
# on the way. A trigram MLE model already predicts sensibly after a frequent context:

# %%
mle3 = ngram.NGramLM(3, "mle").fit(counts)
p = mle3.next_token_distribution(["the", "United"])
likeliest = np.argsort(p)[::-1][:5]
[(mle3.vocab[i], round(float(p[i]), 3)) for i in likeliest]

# %% [markdown]
# ## Sparsity
#
# Counts are sparse: most n-grams that a new text contains never occurred in training,
# and the longer the n-gram, the worse. We measure it directly: for each test token, was
# the n-gram ending in it seen in training?

# %%
unseen = counts.unseen_rate(test)
orders = list(range(1, cfg.max_order + 1))

# %% tags=["remove-cell"]
glue("unseen_2", 100 * unseen[1], display=False)
glue("unseen_max", 100 * unseen[-1], display=False)

# %% mystnb={"figure": {"caption": "The share of WikiText-2 test tokens whose n-gram never occurs in the training text, for each order n.", "name": "fig-ngram-sparsity"}, "image": {"alt": "Line plot of the percentage of test tokens whose n-gram is unseen in training against the order n from 1 to 5: low for unigrams, then rising steeply with every order until a large majority of the test 5-grams are unseen."}}
ax = n2t.plot.curves(
    {"unseen in training": (orders, 100 * unseen)},
    xlabel="n (order of the n-gram)",
    ylabel="test n-grams never seen (%)",
)
ax.set_xticks(orders)
ax.set_ylim(0, 100)
plt.show()

# %% [markdown]
# {glue:text}`unseen_2:.1f`% of the test bigrams and {glue:text}`unseen_max:.1f`% of the
# test {glue:text}`max_order`-grams never occur in the training text
# ({numref}`fig-ngram-sparsity`). Under the MLE each of them gets probability zero, and
# one zero makes the whole line impossible: its probability is a product, its
# log-probability is $-\infty$.

# %%
mle2 = ngram.NGramLM(2, "mle").fit(counts)
logp = mle2.token_logprobs(test)
zero_share = float(np.mean(np.isinf(logp)))
mle2.perplexity(test), zero_share

# %% tags=["remove-cell"]
assert mle2.perplexity(test) == math.inf and zero_share > 0
glue("mle2_zero_share", 100 * zero_share, display=False)

# %% [markdown]
# The bigram MLE gives probability zero to {glue:text}`mle2_zero_share:.1f`% of the test
# tokens, and its perplexity (defined next) is infinite. Every fix below does the same
# thing in a different way: it takes some probability away from the n-grams that were
# seen and gives it to those that were not — **smoothing**.

# %% [markdown]
# ## Perplexity
#
# A model is good if it gives high probability to text it has not seen. Averaging the
# negative log-probability over the $N$ predicted test tokens gives the
# **cross-entropy**; in bits, $H = -\frac{1}{N} \sum_{t=1}^{N} \log_2
# P(w_t \mid w_{t-n+1:t-1})$. The **perplexity** is the same average in nats,
# exponentiated:
#
# $$
# \mathrm{PPL} = P(w_{1:N})^{-1/N}
#   = \exp\Big(-\frac{1}{N} \sum_{t=1}^{N} \ln P(w_t \mid w_{t-n+1:t-1})\Big) = 2^{H}.
# $$
#
# Perplexity is the number of equally likely words a model is, on average, choosing
# between: a model that spreads its probability uniformly over $|V|$ words has
# perplexity exactly $|V|$. Lower is better, and a single zero probability makes it
# infinite. The uniform model, which knows only the vocabulary, is the weakest baseline:

# %%
uniform = ngram.UniformLM().fit(counts)
uniform_ppl = uniform.perplexity(test)
assert math.isclose(uniform_ppl, len(vocab), rel_tol=1e-12)  # PPL = |V|
uniform_ppl, uniform.evaluate(test).cross_entropy

# %% [markdown]
# ## Add-one and add-k smoothing
#
# The simplest fix pretends that every bigram was seen once more than it was
# (Laplace's add-one):
#
# $$
# P_{\text{add-1}}(w_t \mid w_{t-1}) = \frac{C(w_{t-1}\, w_t) + 1}{C(w_{t-1}) + |V|}.
# $$
#
# Checked by hand on the toy corpus, where $|V|$ counts its words, `<eos>` and `<unk>`:

# %%
laplace = ngram.NGramLM(2, "add_k", k=1).fit(toy)
V_toy = laplace.vocab_size
by_hand = (bigrams["cat", "sits"] + 1) / (unigrams["cat"] + V_toy)
assert math.isclose(math.exp(laplace.logprob("sits", ["cat"])), by_hand)
by_hand

# %% tags=["remove-cell"]
unseen_by_hand = 1 / (unigrams["cat"] + V_toy)  # "cat dog" never occurs
assert math.isclose(math.exp(laplace.logprob("dog", ["cat"])), unseen_by_hand)

# %% [markdown]
# On WikiText-2, each context gets $|V|$ = {glue:text}`vocab_size:,` invented
# observations, one per type. How much probability moves to the words never seen after
# it depends on how often the context itself was seen:

# %%
laplace2 = ngram.NGramLM(2, "add_k", k=1).fit(counts)


def unseen_mass(context):
    """The add-one probability of the words that never followed `context`."""
    never_seen = mle2.next_token_distribution([context]) == 0
    p = laplace2.next_token_distribution([context])
    return float(p[never_seen].sum())


context_counts = Counter(w for line in train for w in line)
plain = (w for w in vocab.itos if w.isalpha() and w.islower() and len(w) > 3)
rare = next(w for w in plain if context_counts[w] == 3)  # seen 3 times
{w: (context_counts[w], unseen_mass(w)) for w in ("the", rare)}

# %% tags=["remove-cell"]
glue("laplace_unseen_the", 100 * unseen_mass("the"), display=False)
glue("laplace_unseen_rare", 100 * unseen_mass(rare), display=False)
glue("count_the", context_counts["the"], display=False)
glue("rare_word", Text(f"“{rare}”"), display=False)
glue("rare_count", context_counts[rare], display=False)
assert unseen_mass(rare) > 0.99 > unseen_mass("the")

# %% [markdown]
# After "the", seen {glue:text}`count_the:,` times in training, add-one gives
# {glue:text}`laplace_unseen_the:.0f`% of the probability to words that never followed
# it. After {glue:text}`rare_word`, seen {glue:text}`rare_count` times, it gives them
# {glue:text}`laplace_unseen_rare:.2f`%: {glue:text}`rare_count` real observations
# against {glue:text}`vocab_size:,` invented ones. Most contexts are rare (Zipf's law,
# {doc}`01_text_as_data`), so add-one moves most of the probability mass to n-grams that
# never occurred. Adding a smaller $k$,
#
# $$
# P_{\text{add-}k}(w_t \mid w_{t-1}) = \frac{C(w_{t-1}\, w_t) + k}{C(w_{t-1}) + k|V|},
# $$
#
# moves less; we pick $k$ for each order from a grid on the validation text, reusing
# one set of counts for every candidate:

# %%
def best_k(order):
    """The k of the grid with the lowest validation perplexity."""
    scores = {
        k: ngram.NGramLM(order, "add_k", k=k).fit(counts).perplexity(valid)
        for k in cfg.k_grid
    }
    return min(scores, key=scores.get)


ks = {order: best_k(order) for order in orders}
ks

# %% tags=["remove-cell"]
context_ks = [ks[n] for n in orders[1:]]  # orders with a context
assert context_ks == sorted(context_ks, reverse=True)  # as the text says
strictly = all(a > b for a, b in pairwise(context_ks))
glue("best_k_2", ks[2], display=False)
glue("k_trend", Text("falls" if strictly else "falls or stays the same"), display=False)
glue("k_edge", Text(
    f" (the unigram model picks {ks[1]}, the smallest value of the grid, so its"
    " optimum may lie below it)" if ks[1] == min(cfg.k_grid) else ""), display=False)

# %% [markdown]
# The bigram model's best $k$ is {glue:text}`best_k_2`, and from there on, as the
# context grows longer, the best $k$ {glue:text}`k_trend`{glue:text}`k_edge`: longer
# contexts are rarer, so each invented count weighs more against the real ones.

# %% [markdown]
# ## Linear interpolation
#
# Rather than invent counts, **interpolation** {cite:p}`jelinek1980` mixes the estimates
# of all orders, from the specific but sparse to the general but blunt:
#
# $$
# P_{\text{interp}}(w_t \mid w_{t-n+1:t-1}) = \frac{\lambda_0}{|V|}
#   + \sum_{m=1}^{n} \lambda_m P_{\text{MLE}}(w_t \mid w_{t-m+1:t-1}),
# $$
#
# with weights $\lambda_0, \dots, \lambda_n \ge 0$ that sum to 1, where
# $w_{t-m+1:t-1}$ is the last $m-1$ words of the context (an MLE with an unseen
# context uses its longest seen suffix). The weights are tuned on the validation text by
# expectation–maximisation: each validation token credits each order with its share of
# the mixture's probability, and the shares, averaged, become the new weights. The
# library works in log space, so that no probability underflows, and the book fits
# every mixture weight with this one function (the neural and counting models of
# {doc}`03_neural_lm` too):
#
# ```{literalinclude} ../lib/n2t/ngram.py
# :start-after: excerpt begins em
# :end-before: excerpt ends
# :language: python
# :caption: lib/n2t/ngram.py — one step of em_weights
# ```

# %%
interp3 = ngram.NGramLM(3, "interpolation").fit(counts, heldout=valid)
interp3.lambdas.round(3)

# %% tags=["remove-cell"]
assert math.isclose(interp3.lambdas.sum(), 1.0, abs_tol=1e-9)
for m, weight in enumerate(interp3.lambdas):
    glue(f"lambda3_{m}", weight, display=False)

# %% [markdown]
# The trigram model puts weight {glue:text}`lambda3_3:.2f` on trigrams,
# {glue:text}`lambda3_2:.2f` on bigrams, {glue:text}`lambda3_1:.2f` on unigrams and
# {glue:text}`lambda3_0:.3f` on the uniform distribution.

# %% [markdown]
# ## Kneser–Ney smoothing
#
# Kneser–Ney smoothing {cite:p}`kneser1995` joins two ideas. How the lower order is
# reached is a choice of its own: a *backing-off* model {cite:p}`katz1987`, as Kneser
# and Ney's original was, asks the lower order only for the words never seen after the
# context, while an *interpolated* one, as here and in Chen and Goodman's study, always
# mixes it in.
#
# **Absolute discounting** {cite:p}`ney1994`. Subtract a discount from every seen count
# and give the mass saved to the lower order. Ney, Essen and Kneser estimated one
# discount per order, $D = n_1 / (n_1 + 2 n_2)$, from the count-of-counts defined
# below; textbooks often fix $D = 0.75$. Chen and Goodman's *modified* version
# {cite:p}`chen1998` uses three discounts per order $m$, $D_{m,1}$, $D_{m,2}$ and
# $D_{m,3+}$ for n-grams counted once, twice and three or more times, estimated from the
# **count-of-counts** $n_j$ (how many n-grams of that order have count $j$):
# $Y = n_1 / (n_1 + 2 n_2)$, $D_{m,1} = 1 - 2Y n_2/n_1$, $D_{m,2} = 2 - 3Y n_3/n_2$,
# $D_{m,3+} = 3 - 4Y n_4/n_3$, each clipped to $[0, j]$. We write $D_m(c)$ for the
# discount of count $c$ ($D_m(0) = 0$). At the highest order $n$, for the context
# $h = w_{t-n+1:t-1}$ and $h' = w_{t-n+2:t-1}$ (the same without its oldest word),
#
# $$
# P_{\text{KN}}(w_t \mid h) = \frac{C(h\,w_t) - D_n(C(h\,w_t))}{\sum_w C(h\,w)}
#   + \gamma_n(h)\, P_{\text{KN}}(w_t \mid h'),
# $$
#
# $$
# \gamma_n(h) = \frac{\sum_{j} D_{n,j}\, N_j(h\,\bullet)}{\sum_w C(h\,w)},
# $$
#
# where $N_j(h\,\bullet)$ is the number of words seen exactly $j$ times after $h$
# ($j = 1, 2, 3+$): $\gamma_n(h)$ is exactly the mass that the discounts took away.
# The clipping keeps every numerator non-negative.
#
# **Continuation counts**, Kneser and Ney's own contribution. The lower orders answer a
# different question from the
# highest: not "how frequent is $w$?" but "how likely is $w$ to appear *after a context
# we have not seen*?" "Francisco" is frequent, but it follows almost only "San"; a word
# that follows many different words is a better guess after a new context. So every
# lower order $m < n$ replaces the count $C(h\,w)$ by the number of distinct words that
# precede $h\,w$, the continuation count $N_{1+}(\bullet\, h\, w)$ — in the numerator,
# in the denominator and in $\gamma_m$. For a context $h = w_{t-m+1:t-1}$:
#
# $$
# P_{\text{KN}}(w_t \mid h)
#   = \frac{N_{1+}(\bullet\,h\,w_t) - D_m(N_{1+}(\bullet\,h\,w_t))}
#          {\sum_w N_{1+}(\bullet\,h\,w)}
#   + \gamma_m(h)\, P_{\text{KN}}(w_t \mid h'),
# $$
#
# $$
# \gamma_m(h) = \frac{\sum_{j} D_{m,j}\, N_j(h\,\bullet)}
#                    {\sum_w N_{1+}(\bullet\,h\,w)},
# $$
#
# where now $N_j(h\,\bullet)$ counts the words $w$ with $N_{1+}(\bullet\,h\,w) = j$, and
# the discounts $D_{m,j}$ come from the count-of-counts of the continuation counts.
# Below the unigrams ($m = 1$, empty $h$) sits the uniform distribution $1/|V|$, and a
# context never seen in training leaves the lower order alone:
# $P_{\text{KN}}(w_t \mid h) = P_{\text{KN}}(w_t \mid h')$.
#
# **Line starts.** Nothing precedes `<bos>`, so an n-gram that begins with it would get
# continuation count 1 whatever its frequency; as in KenLM {cite:p}`heafield2013`, such
# n-grams keep their raw counts $C(h\,w)$ at the lower orders too.
#
# ::::{dropdown} Line starts in detail, and how this compares with KenLM
# KenLM starts a line with a single `<s>`, where we pad with $n - 1$ `<bos>`: a context
# that begins with two `<bos>` is the same line start as $h'$, so it passes
# $P_{\text{KN}}(w_t \mid h')$ through unchanged and its n-grams stay out of the
# count-of-counts. With these rules the library's estimator is that of KenLM's `lmplz`,
# with two differences. `lmplz` refuses a literal `<unk>` in its training text, while
# WikiText-2 writes one for every rare word: here `<unk>` is an ordinary word. And where
# a discount cannot be estimated (a count-of-count of zero), `lmplz` stops with an
# error, while the library clips the discount to its range (the unigram model of the
# results below meets this case). With `<unk>` renamed to an ordinary word and the
# blank lines left out, `lmplz` (run outside the book, each line read as one sentence)
# gives the 5-gram a perplexity of 224.81 on the test lines that are not blank;
# {glue:text}`kenlm_check`
# ::::

# %% tags=["remove-cell"]
def renamed(lines):
    """The lines that are not blank, with <unk> written as an ordinary word."""
    return [["unk_word" if w == "<unk>" else w for w in line] for line in lines if line]


assert "unk_word" not in counts.stoi
kenlm_like = ngram.NGramLM(5, "kneser_ney").fit(renamed(train))
kenlm_like_ppl = kenlm_like.perplexity(renamed(test))
if cfg.train_lines is None:  # KenLM's lmplz 5-gram on the same text: 224.81
    assert round(kenlm_like_ppl, 2) == 224.81
    kenlm_check = (
        f"the library's 5-gram, fitted the same way, gives {kenlm_like_ppl:.2f}.")
else:
    kenlm_check = (
        f"this profile fits only the first {cfg.train_lines:,} training lines, where"
        f" the library's 5-gram gives {kenlm_like_ppl:,.1f}; the full profile checks"
        " that on the whole split it gives 224.81 too."
    )
glue("kenlm_check", Text(kenlm_check), display=False)
del kenlm_like

# %%
preceding = counts.preceding_types()
frequency = counts.unigram_counts()
francisco = counts.stoi["Francisco"]
near = np.abs(frequency - frequency[francisco]) <= 0.1 * frequency[francisco]
similar = np.flatnonzero(near)  # as frequent as "Francisco", within 10%
rival = similar[np.argmax(preceding[similar])]  # after most distinct words
pair = (francisco, rival)
[(counts.itos[i], int(frequency[i]), int(preceding[i])) for i in pair]

# %% tags=["remove-cell"]
glue("francisco_count", int(frequency[francisco]), display=False)
glue("francisco_preceding", int(preceding[francisco]), display=False)
glue("san_francisco", counts.count(["San", "Francisco"]), display=False)
glue("rival_word", Text(f"“{counts.itos[rival]}”"), display=False)
glue("rival_count", int(frequency[rival]), display=False)
glue("rival_preceding", int(preceding[rival]), display=False)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Two words of about the same frequency in the training text: how often each occurs (its count, what the MLE's unigrams use) and after how many distinct words (its continuation count, what Kneser–Ney's lower orders use).", "name": "fig-continuation"}, "image": {"alt": "Grouped bar chart for 'Francisco' and a word about as frequent. Their count bars are nearly equal; the continuation-count bar of 'Francisco' is tiny, while the other word's is many times taller."}}
fig, ax = plt.subplots(figsize=(6.4, 3.2))
where = np.arange(len(pair))
ax.bar(where - 0.2, [frequency[i] for i in pair], 0.4, label="count $C(w)$")
ax.bar(where + 0.2, [preceding[i] for i in pair], 0.4,
       label=r"distinct words before it, $N_{1+}(\bullet\,w)$")
ax.set_xticks(where, [f"“{counts.itos[i]}”" for i in pair])
ax.set_ylabel("tokens, or distinct words")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
plt.show()

# %% [markdown]
# In the training text "Francisco" occurs {glue:text}`francisco_count` times,
# {glue:text}`san_francisco` of them after "San", and after only
# {glue:text}`francisco_preceding` distinct words; {glue:text}`rival_word`, about as
# frequent ({glue:text}`rival_count` times), follows {glue:text}`rival_preceding`
# distinct words, and its continuation count gives it that much more of the lower-order
# probability ({numref}`fig-continuation`). The library chooses the count that each
# order discounts, then estimates the discounts from its count-of-counts and every
# $\gamma$ with the same sorted keys:
#
# ```{literalinclude} ../lib/n2t/ngram.py
# :pyobject: NGramLM.kneser_ney_counts
# :language: python
# :caption: lib/n2t/ngram.py — NGramLM.kneser_ney_counts
# ```
#
# ```{literalinclude} ../lib/n2t/ngram.py
# :pyobject: NGramLM._fit_kneser_ney
# :language: python
# :caption: lib/n2t/ngram.py — NGramLM._fit_kneser_ney
# ```
#
# To be sure the formulas are what the library computes, we build a bigram Kneser–Ney
# probability by hand on the toy corpus, discounts included. The unit tests do the same
# for a trigram model whose lines start with `<bos>`, and check the library against a
# slow pure-Python Kneser–Ney for orders 1 to 4.

# %%
padded = [["<bos>", *s, "<eos>"] for s in toy]
c2 = Counter((a, b) for s in padded for a, b in pairwise(s))  # bigram counts
c1 = Counter(b for a, b in c2)  # continuation counts N1+(• w)


def discounts(counts_of):
    """Chen & Goodman's D1, D2, D3+ from the count-of-counts."""
    n = Counter(counts_of)
    y = n[1] / (n[1] + 2 * n[2])
    d1 = 1 - 2 * y * n[2] / n[1]
    d2 = 2 - 3 * y * n[3] / n[2]
    d3 = 3 - 4 * y * n[4] / n[3]
    return d1, d2, d3


bigram_discounts = discounts(c2.values())  # D_{2,1}, D_{2,2}, D_{2,3+}
unigram_discounts = discounts(c1.values())  # D_{1,1}, D_{1,2}, D_{1,3+}
kn_toy = ngram.NGramLM(2, "kneser_ney").fit(toy)
assert np.allclose(kn_toy.discounts[2], bigram_discounts, atol=1e-12)
assert np.allclose(kn_toy.discounts[1], unigram_discounts, atol=1e-12)
bigram_discounts

# %%
def discount(discounts_of_order, c):
    """D_m(c): 0 for an unseen n-gram, then D_{m,1}, D_{m,2}, D_{m,3+}."""
    return 0.0 if c == 0 else discounts_of_order[min(c, 3) - 1]


def p_unigram(w):
    """Continuation counts, interpolated with the uniform distribution."""
    total = sum(c1.values())
    gamma = sum(discount(unigram_discounts, c) for c in c1.values()) / total
    kept = c1[w] - discount(unigram_discounts, c1[w])
    return kept / total + gamma / kn_toy.vocab_size


def p_bigram(w, prev):
    """Raw bigram counts after `prev`, interpolated with p_unigram."""
    after = {b: c for (a, b), c in c2.items() if a == prev}
    total = sum(after.values())
    discounted = sum(discount(bigram_discounts, c) for c in after.values())
    gamma = discounted / total
    c = after.get(w, 0)
    return (c - discount(bigram_discounts, c)) / total + gamma * p_unigram(w)


for w in ["sits", "eats", "dog", "<eos>"]:
    library = math.exp(kn_toy.logprob(w, ["cat"]))
    assert math.isclose(library, p_bigram(w, "cat"))
p_bigram("sits", "cat"), p_bigram("dog", "cat")

# %% [markdown]
# The hand-built probabilities match the library's, and the unit tests also check that
# every smoothed next-word distribution sums to one.

# %% [markdown]
# ## Results on WikiText-2
#
# Every method for every order from 1 to {glue:text}`max_order`, each fitted from the
# training text (counting included in the fit time) and scored on the same
# {glue:text}`test_tokens:,` test tokens:

# %%
methods = {
    "MLE": lambda n: ngram.NGramLM(n, "mle"),
    "add-one": lambda n: ngram.NGramLM(n, "add_k", k=1.0),
    "add-k": lambda n: ngram.NGramLM(n, "add_k", k=ks[n]),
    "interpolation": lambda n: ngram.NGramLM(n, "interpolation"),
    "Kneser–Ney": lambda n: ngram.NGramLM(n, "kneser_ney"),
}
perplexity, fit_seconds, addk_logp = {}, {}, {}  # (method, order) -> value
runs = [(name, n) for n in orders for name in methods]
for name, n in progress(runs, desc="fit and score"):
    heldout = valid if name == "interpolation" else None  # tunes its weights
    with measured("tokens") as fit_clock:
        model = methods[name](n).fit(train, vocab=vocab, heldout=heldout)
    logp_test = model.token_logprobs(test)
    perplexity[name, n] = ngram.Evaluation(-logp_test.sum(), len(logp_test)).perplexity
    fit_seconds[name, n] = clock_seconds(fit_clock.reading())
    if name == "add-k":  # kept to see where add-k loses (below)
        addk_logp[n] = logp_test


# %% tags=["hide-input"]
def by_order(values, fmt):
    """One row per order, one column per method."""
    rows = [[n, *(fmt(values[name, n]) for name in methods)] for n in orders]
    return markdown_table(["order", *methods], rows)


by_order(perplexity, lambda x: "∞" if math.isinf(x) else f"{x:,.1f}")

# %% [markdown]
# Fitting takes seconds, counting included (training CPU-seconds on one thread, the
# book's compute clock, on the machine that built this page):

# %% tags=["hide-input"]
by_order(fit_seconds, lambda seconds: f"{seconds:.1f}")

# %% mystnb={"figure": {"caption": "Test perplexity on WikiText-2 against the order of the n-gram model, for each smoothing method (the MLE appears only where its perplexity is finite).", "name": "fig-ngram-perplexity"}, "image": {"alt": "Line plot with a logarithmic perplexity axis against the model order from 1 to 5, one line per smoothing method: add-one and add-k rise with every order, while interpolation and Kneser-Ney fall and level off, Kneser-Ney the lowest."}}
series = {}
for name in methods:
    finite = [n for n in orders if math.isfinite(perplexity[name, n])]
    if finite:
        series[name] = (finite, [perplexity[name, n] for n in finite])
ax = n2t.plot.curves(
    series,
    xlabel="n (order of the model)",
    ylabel="test perplexity",
    logy=True,
)
ax.set_xticks(orders)
plt.show()

# %% tags=["remove-cell"]
top = orders[-1]
kn_best_order = min(orders, key=lambda n: perplexity["Kneser–Ney", n])
mle_finite = [n for n in orders if math.isfinite(perplexity["MLE", n])]
smoothed = [name for name in methods if name != "MLE"]
assert all(math.isfinite(perplexity[name, n]) for name in smoothed for n in orders)
add_one = [perplexity["add-one", n] for n in orders]
assert add_one[1] > perplexity["Kneser–Ney", 1] and all(np.diff(add_one) > 0)
assert all(np.diff([perplexity["add-k", n] for n in orders[1:]]) > 0)
assert perplexity["interpolation", top] < perplexity["interpolation", 1]
assert perplexity["Kneser–Ney", kn_best_order] == min(perplexity.values())
glue("kn_top_ppl", perplexity["Kneser–Ney", top], display=False)
glue("kn_top_fit", fit_seconds["Kneser–Ney", top], display=False)
glue("kn_best_order", kn_best_order, display=False)
glue("kn_best_ppl", perplexity["Kneser–Ney", kn_best_order], display=False)
glue("interp_top_ppl", perplexity["interpolation", top], display=False)
glue("add1_2_ppl", perplexity["add-one", 2], display=False)
glue("addk_2_ppl", perplexity["add-k", 2], display=False)
glue("unigram_ppl", perplexity["Kneser–Ney", 1], display=False)
assert mle_finite in ([], [1])  # the text below says which
finite_text = {0: "at no order", 1: "only for the unigram model"}[len(mle_finite)]
kn1 = ngram.NGramLM(1, "kneser_ney").fit(counts)
if math.isclose(perplexity["Kneser–Ney", 1], perplexity["MLE", 1], rel_tol=1e-9):
    assert kn1.discounts[1] == (0.0, 2.0, 3.0)  # n1 = n2 = 0: the largest discounts
    kn1_sentence = (
        "At order 1 Kneser–Ney and the MLE are the same model: every training type"
        " occurs at least three times, so there is no count of 1 or 2 to estimate a"
        " discount from, and the library falls back to the largest discounts (0, 2, 3)"
        " where KenLM would stop with an error. Every count loses 3, and the uniform"
        " share hands exactly 3/N back to every word: the MLE again.")
else:
    d1, d2, d3 = kn1.discounts[1]
    kn1_sentence = (
        f"At order 1 Kneser–Ney discounts the counts by {d1:.2f}, {d2:.2f} and"
        f" {d3:.2f}, and its perplexity is {perplexity['Kneser–Ney', 1]:,.1f} against"
        f" the MLE's {perplexity['MLE', 1]:,.1f}.")
glue("kn1_sentence", Text(kn1_sentence), display=False)
glue("mle_finite", Text(finite_text), display=False)

# %% [markdown]
# The MLE's perplexity is finite {glue:text}`mle_finite`: at the other orders it meets
# test n-grams that it never saw. {glue:text}`kn1_sentence` Add-one smoothing is worse
# than no context at all — its bigram perplexity is {glue:text}`add1_2_ppl:,.0f`
# against {glue:text}`unigram_ppl:,.0f` for the unigram model — and it gets worse with
# every order. A tuned $k$ helps (bigram {glue:text}`addk_2_ppl:,.0f`) but shares the
# flaw, and the next cell shows its main cause.

# %%
seen = counts.context_seen(test)  # (test tokens, orders): was the context seen?
addk_rows = []
for n in orders[1:]:
    seen_n = seen[:, n - 1]  # the context of n - 1 words
    seen_ppl = math.exp(-addk_logp[n][seen_n].mean())
    addk_rows.append([n, f"{100 * (1 - seen_n.mean()):.1f}",
                      f"{perplexity['add-k', n]:,.0f}", f"{seen_ppl:,.0f}"])
markdown_table(["order", "test tokens after an unseen context (%)",
                "add-k PPL, all tokens", "add-k PPL, seen contexts only"], addk_rows)

# %% tags=["remove-cell"]
unseen_context = {n: 1 - seen[:, n - 1].mean() for n in orders[1:]}
addk_seen_top = math.exp(-addk_logp[top][seen[:, top - 1]].mean())
assert addk_seen_top < perplexity["add-k", top]  # as the text says
glue("unseen_context_3", 100 * unseen_context[3], display=False)
glue("unseen_context_top", 100 * unseen_context[top], display=False)
glue("addk_top_ppl", perplexity["add-k", top], display=False)
glue("addk_seen_top_ppl", addk_seen_top, display=False)
glue("ln_vocab", math.log(len(vocab)), display=False)

# %% [markdown]
# Add-k collapses mostly because of *unseen contexts*, not because invented counts
# swamp real ones. After a context that never occurred in training —
# {glue:text}`unseen_context_3:.0f`% of the test tokens at order 3,
# {glue:text}`unseen_context_top:.0f`% at order {glue:text}`max_order` — add-k has no
# count at all and falls back to the uniform $1/|V|$, {glue:text}`ln_vocab:.1f` nats per
# token. Over the tokens whose context was seen, the add-k
# {glue:text}`max_order`-gram's perplexity is {glue:text}`addk_seen_top_ppl:,.0f`
# instead of {glue:text}`addk_top_ppl:,.0f`. Interpolation and Kneser–Ney fall back to
# a shorter context, and improve with context: interpolation reaches
# {glue:text}`interp_top_ppl:.1f` at order {glue:text}`max_order`, and Kneser–Ney is
# the best of all, {glue:text}`kn_best_ppl:.1f` at order {glue:text}`kn_best_order`
# ({numref}`fig-ngram-perplexity`). Fitting the {glue:text}`max_order`-gram Kneser–Ney
# model, counting included, took {glue:text}`kn_top_fit:.1f` s. The Kneser–Ney
# {glue:text}`max_order`-gram perplexity, {glue:text}`kn_top_ppl:.1f`, is the number
# later chapters compare against.

# %% [markdown]
# ## Scoring sentences
#
# The chapter opened with a promise: a good model prefers "He was born in London" to
# "He was born in tables". Here is the {glue:text}`max_order`-gram Kneser–Ney model's
# verdict, token by token; each line ends with `<eos>`, which is predicted too.

# %%
kn_top = ngram.NGramLM(top, "kneser_ney").fit(counts)
sentence = ["He", "was", "born", "in", "London", "."]
absurd = ["He", "was", "born", "in", "tables", "."]
scores = {}  # ln P of every predicted token, <eos> included
for words in (sentence, absurd):
    scores[" ".join(words)] = kn_top.token_logprobs([words])
{text: round(float(logp.sum()), 1) for text, logp in scores.items()}

# %% tags=["hide-input"]
logp_sentence, logp_absurd = scores.values()
tokens = zip([*sentence, "<eos>"], [*absurd, "<eos>"], strict=True)
rows = [[as_code(a), f"{la:.2f}", as_code(b), f"{lb:.2f}"]
        for (a, b), la, lb in zip(tokens, logp_sentence, logp_absurd, strict=True)]
total_a, total_b = logp_sentence.sum(), logp_absurd.sum()
rows.append(["total", f"**{total_a:.2f}**", "total", f"**{total_b:.2f}**"])
markdown_table(["token", "$\\ln P$", "token", "$\\ln P$"], rows)

# %% tags=["remove-cell"]
position = sentence.index("London")
assert logp_sentence.sum() > logp_absurd.sum()
assert np.allclose(logp_sentence[:position], logp_absurd[:position])  # same prefix
assert (logp_absurd[position:] < logp_sentence[position:]).all()  # and after
glue("ln_london", logp_sentence[position], display=False)
glue("ln_tables", logp_absurd[position], display=False)
glue("ln_sentence", logp_sentence.sum(), display=False)
glue("ln_absurd", logp_absurd.sum(), display=False)
glue("ln_ratio", math.exp(logp_sentence.sum() - logp_absurd.sum()), display=False)

# %% [markdown]
# Up to "in" the two lines are the same and so are their scores. Then "London" gets
# $\ln P =$ {glue:text}`ln_london:.2f` and "tables" {glue:text}`ln_tables:.2f`, and the
# absurd word also makes the next tokens less likely. In total the sentence scores
# {glue:text}`ln_sentence:.1f` against {glue:text}`ln_absurd:.1f`: the model finds it
# {glue:text}`ln_ratio:,.0f` times more probable.

# %% [markdown]
# ## Generating text
#
# A language model is also a generator: sample a word from
# $P(\cdot \mid w_{t-n+1:t-1})$, append it, repeat until `<eos>`. A **temperature**
# $\tau$ reshapes the distribution to $p^{1/\tau}$ (renormalised): $\tau < 1$ sharpens
# it towards the likeliest words, $\tau > 1$ flattens it.

# %%
kn2 = ngram.NGramLM(2, "kneser_ney").fit(counts)
prompt = ["The"]
samples = {
    (model.order, tau): prompt
    + model.generate(40, temperature=tau, seed=1, context=prompt)
    for model in (kn2, kn_top)
    for tau in (1.0, 0.6)
}

# %% [markdown]
# How much of a sample is new? We look for its longest stretch of consecutive words
# that occurs verbatim in the training text:

# %%
training_text = " " + " \n ".join(" ".join(line) for line in train) + " "


def in_training(words):
    """Whether `words` occur in this order, in one training line."""
    return f" {' '.join(words)} " in training_text


def longest_copy(words):
    """The longest stretch of consecutive `words` that occurs in training."""
    best = 0
    for i in range(len(words)):
        while i + best < len(words) and in_training(words[i : i + best + 1]):
            best += 1
    return best


copied = {key: longest_copy(words) for key, words in samples.items()}

# %% tags=["hide-input"]
display(
    HTML(
        "".join(
            f"<p><b>{n}-gram, τ = {tau}</b> (longest stretch copied from"
            f" training: {copied[n, tau]} words):"
            f" {html.escape(' '.join(words))}</p>"
            for (n, tau), words in samples.items()
        )
    )
)

# %% tags=["remove-cell"]
assert copied[top, 0.6] > copied[2, 0.6]
glue("copy_top", copied[top, 0.6], display=False)
glue("copy_2", copied[2, 0.6], display=False)

# %% [markdown]
# Each sample starts a line with "The". At $\tau = 1$ the samples of both models wander
# from clause to clause: after every context, Kneser–Ney keeps part of the probability
# for the lower orders, and a draw from that part can be almost any word, so a new
# phrase starts mid-sentence. At $\tau = 0.6$ the draws stay on frequent paths, and the
# {glue:text}`max_order`-gram model follows the training text for whole phrases: its
# sample repeats {glue:text}`copy_top` consecutive training words verbatim, the bigram
# model's at most {glue:text}`copy_2`. No sample keeps a topic: the model's whole
# memory is its last $n - 1$ words.

# %% [markdown]
# ## What counting cannot do
#
# To a counting model every word is an unrelated symbol. In the toy corpus "cat sits"
# occurs {glue:text}`toy_cat_sits` times; "dog" occurs once, followed by "runs".
# Nothing carries over from cats to dogs: after "dog", Kneser–Ney gives "sits" exactly
# the share of the lower-order distribution that any other unseen word gets.

# %%
p_after_dog = kn_toy.next_token_distribution(["dog"])
p_lower = np.array([p_unigram(w) for w in kn_toy.vocab])
ratio = p_after_dog / p_lower
sits, mat = kn_toy.vocab.index("sits"), kn_toy.vocab.index("mat")
assert math.isclose(ratio[sits], ratio[mat])  # nothing from "cat sits"
float(ratio[sits]), float(ratio[mat])

# %% tags=["remove-cell"]
assert toy_mle.logprob("sits", ["dog"]) == -math.inf

# %% [markdown]
# A model that knew that "cat" and "dog" are similar could lend the statistics of one
# to the other. That needs words represented not as symbols but as vectors, with
# similar words close together: **embeddings**, learned by the neural language model
# of {doc}`03_neural_lm` {cite:p}`bengio2003`.

# %% [markdown]
# ## Exercises
#
# 1. Compute by hand the add-one trigram probability
#    $P(\text{mat} \mid \text{on the})$ on the toy corpus, and check it with
#    `NGramLM(3, "add_k", k=1)`.
# 2. Plot the fraction of *distinct* test n-grams (types rather than tokens) never seen
#    in training for $n = 1 \dots 5$. Why is it higher than the fraction of tokens?
# 3. Fit Kneser–Ney with a single discount per order, $D = n_1 / (n_1 + 2 n_2)$, as
#    Kneser and Ney did (or with the textbooks' fixed $D = 0.75$). How much perplexity
#    do the modified version's three discounts gain on WikiText-2?
# 4. Interpolate with weights that depend on the context's count (Jelinek–Mercer with
#    buckets): does it close the gap to Kneser–Ney?
# 5. Sample 20 lines from the bigram and the 5-gram Kneser–Ney models at
#    $\tau = 1$ and $\tau = 0.6$, and average their `longest_copy`. How does the copied
#    stretch grow with the order, and with a lower temperature?
# 6. Why can the perplexity of a model never be below 1, and when would it equal 1?
# 7. Give every n-gram that begins with `<bos>` a continuation count of 1 at the lower
#    orders, as a naive implementation does, and measure the test perplexity. Then
#    also drop the rule for contexts that begin with two `<bos>`. Which of the three
#    follows KenLM's rules, and why do the other two differ?
