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
# # Text as data
#
# A language model assigns probabilities to text, and every model in this book — from
# counting n-grams to a Transformer — does its arithmetic on numbers, not on words. So
# before any model there is a question: **how do we turn raw text into tensors, and what
# do we lose on the way?**
#
# This chapter answers it on the book's own corpora. We cut text into *tokens*, count
# them and meet Zipf's law; we build a *vocabulary* that maps tokens to integer ids and
# see what is lost when a rare word becomes `<unk>`; we tokenize Chinese by characters
# and English by words; we try the most obvious numeric representation, the one-hot
# vector, and measure why it fails; and we pack token streams and sentence pairs into
# the batched tensors that later chapters train on.

# %% tags=["remove-cell"]
import math
import unicodedata
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown

import n2t.plot
from n2t import data, text
from n2t.book import Text, as_code, glue, markdown_table
from n2t.profile import current

n2t.plot.use_book_style()
cfg = current().settings("text_as_data")

# %% [markdown]
# Every experiment in the book is sized by a *profile*: `full` for the numbers the book
# reports, `quick` for tests. This chapter's settings:

# %%
cfg

# %% [markdown]
# ## Tokens and types
#
# Our language-modelling corpus is WikiText-2 {cite:p}`merity2016`: Wikipedia's good and
# featured articles, already tokenized, with rare words replaced by `<unk>`. Each line
# is a paragraph, a heading or blank: {glue:text}`blank_share:.0f`% of the training
# lines are blank. Following the standard convention we split each line on whitespace
# and end it with the token `<eos>`. The name says "end of sentence", but it closes a
# *line*: a paragraph of many sentences gets one, and a blank line is a lone `<eos>` —
# which is why the sample below starts with one.

# %%
train_tokens = data.wikitext2_tokens("train", max_lines=cfg.wikitext_lines)
test_tokens = data.wikitext2_tokens("test", max_lines=cfg.wikitext_lines)
" ".join(train_tokens[:40])

# %% tags=["remove-cell"]
train_lines = data.wikitext2_lines("train", max_lines=cfg.wikitext_lines)
blank_share = sum(not line for line in train_lines) / len(train_lines)
glue("blank_share", 100 * blank_share, display=False)
assert train_tokens[0] == text.EOS and not train_lines[0]  # the first line is blank

# %% [markdown]
# A **token** is one occurrence of a word in the running text; a **type** is a distinct
# word. "the cat saw the dog" has five tokens and four types.

# %%
train_counts = Counter(train_tokens)
num_tokens, num_types = len(train_tokens), len(train_counts)
num_tokens, num_types

# %% tags=["remove-cell"]
glue("train_tokens", num_tokens, display=False)
glue("train_types", num_types, display=False)
glue("tokens_per_type", num_tokens / num_types, display=False)

# %% [markdown]
# The training text has {glue:text}`train_tokens:,` tokens but only
# {glue:text}`train_types:,` types: on average each type occurs
# {glue:text}`tokens_per_type:.0f` times. When the whole split is read these are the
# published figures (2,088,628 tokens and a vocabulary of 33,278 types), which the next
# cell checks.

# %% tags=["hide-input"]
if cfg.wikitext_lines is None:  # the whole split: the standard counts
    assert num_tokens == 2_088_628 and num_types == 33_278
    assert len(data.wikitext2_tokens("valid")) == 217_646
    assert len(test_tokens) == 245_569

# %% [markdown]
# ## Zipf's law
#
# Averages hide how unequal the counts are. Sort the types by frequency and plot
# frequency against rank on log–log axes: the points fall close to a straight line,
# $f(r) \propto r^{-\alpha}$ with $\alpha$ near 1 {cite:p}`zipf1949`. A handful of types
# (*the*, the comma, the full stop, *of*) make up a large share of the text, while most
# types are rare.

# %%
frequencies = np.array(sorted(train_counts.values(), reverse=True), dtype=np.float64)
ranks = np.arange(1, len(frequencies) + 1)
# Fit ranks 10 … 10,000: past the function words, before the tail.
fit_range = slice(9, min(10_000, len(ranks)))
log_ranks, log_freqs = np.log(ranks[fit_range]), np.log(frequencies[fit_range])
slope, intercept = np.polyfit(log_ranks, log_freqs, deg=1)
zipf_alpha = -float(slope)
round(zipf_alpha, 3)

# %% mystnb={"figure": {"caption": "Zipf's law on WikiText-2: the frequency of a type against its rank, on log–log axes, with the fitted power law.", "name": "fig-zipf"}, "image": {"alt": "Log-log plot of type frequency against frequency rank for WikiText-2: the points fall close to a straight fitted line of slope about minus one, from tens of thousands of tokens at rank 1 down to a few at rank 30,000."}}
fitted = np.exp(intercept) * ranks**slope
ax = n2t.plot.curves(
    {"WikiText-2 train": (ranks, frequencies), "fitted power law": (ranks, fitted)},
    xlabel="rank of the type", ylabel="frequency (tokens)",
    logx=True, logy=True, marker=None,
)
plt.show()

# %% tags=["remove-cell"]
top10_share = frequencies[:10].sum() / num_tokens
glue("zipf_alpha", zipf_alpha, display=False)
glue("top10_share", 100 * top10_share, display=False)
glue("median_count", int(np.median(frequencies)), display=False)
glue("rare_share", 100 * (frequencies < 10).mean(), display=False)

# %%
top10 = enumerate(train_counts.most_common(10), start=1)
Markdown(
    "| rank | type | count |\n|---:|:---|---:|\n"
    + "\n".join(f"| {rank} | `{token}` | {count:,} |" for rank, (token, count) in top10)
)

# %% [markdown]
# The fitted exponent is $\alpha \approx$ {glue:text}`zipf_alpha:.2f`. The ten most
# frequent types cover {glue:text}`top10_share:.1f`% of all tokens, while half of all
# types occur at most {glue:text}`median_count:,` times and {glue:text}`rare_share:.0f`%
# occur fewer than ten times. This long tail is the root of *sparsity*, the problem that
# drives {doc}`02_ngram_models` (smoothing) and {doc}`03_neural_lm` (embeddings).

# %% [markdown]
# ## A vocabulary: from tokens to ids
#
# A model needs a fixed set of types, each with an integer id. `n2t.text.Vocab` reserves
# four special tokens — `<unk>` for unknown words, `<pad>` for padding, `<bos>`/`<eos>`
# for the beginning and end of a sequence — and then orders the types by frequency, so
# that id 4 is the most frequent word. Encoding is a dictionary look-up with `<unk>` as
# the fallback:
#
# ```{literalinclude} ../lib/n2t/text.py
# :pyobject: Vocab.encode
# :caption: lib/n2t/text.py
# ```

# %%
vocab = text.Vocab(train_tokens)
ids = vocab.encode(["the", "history", "of", "zyzzyva"])
ids, vocab.decode(ids)

# %% [markdown]
# A word the vocabulary has never seen, like *zyzzyva*, becomes `<unk>` — its identity
# is lost. Round trips of known words are exact:

# %% tags=["hide-input"]
sentence = ["the", "history", "of", "the", "city"]
assert vocab.decode(vocab.encode(sentence)) == sentence
assert vocab.decode(vocab.encode(["zyzzyva"])) == [text.UNK]
# <unk> and <eos> are in the corpus already; <pad> and <bos> are added
assert len(vocab) == num_types + 2

# %% [markdown]
# How large must the vocabulary be? Keep only the $N$ most frequent training types and
# count how many *test* tokens are still covered — known to the vocabulary as a word of
# their own. A token that is `<unk>` in the corpus is never covered: `<unk>` is a type
# of the vocabulary, but it names no word. Because of Zipf's law, a small vocabulary
# covers most tokens, and each further type helps less and less.

# %%
word_types = [token for token, _ in train_counts.most_common() if token != text.UNK]
rank_of = {token: rank for rank, token in enumerate(word_types)}
not_covered = len(word_types)  # the rank of <unk> and of any word unseen in training
test_ranks = np.array([rank_of.get(token, not_covered) for token in test_tokens])
sizes = np.unique(np.geomspace(10, len(word_types), cfg.coverage_points).astype(int))
coverage = np.array([(test_ranks < size).mean() for size in sizes])

# %% mystnb={"figure": {"caption": "Coverage of the WikiText-2 test tokens by the N most frequent training word types (`<unk>` excluded). The curve flattens below 100%: the remaining test tokens are `<unk>` in the corpus itself.", "name": "fig-coverage"}, "image": {"alt": "Line plot, logarithmic x axis: the percentage of test tokens covered rises steeply with the first hundreds of types, then flattens, ending a few percent below 100 at the full vocabulary."}}
ax = n2t.plot.curves(
    {"test coverage": (sizes, 100 * coverage)},
    xlabel="vocabulary size N (types)", ylabel="test tokens covered (%)", logx=True,
)
plt.show()

# %% tags=["remove-cell"]
size_90 = int(sizes[np.argmax(coverage >= 0.9)]) if (coverage >= 0.9).any() else None
unk_share = test_tokens.count(text.UNK) / len(test_tokens)
coverage_1000 = float(np.interp(np.log(1000), np.log(sizes), coverage))
glue("coverage_1000", 100 * coverage_1000, display=False)
glue("coverage_full", 100 * coverage[-1], display=False)
glue("test_unk_share", 100 * unk_share, display=False)
unseen_test_tokens = sum(token not in train_counts for token in test_tokens)
glue("unseen_test_tokens", unseen_test_tokens, display=False)

# %% tags=["remove-cell"]
rarest_train_count = min(train_counts.values())
if cfg.wikitext_lines is None:  # the whole corpus: a closed vocabulary
    assert unseen_test_tokens == 0 and rarest_train_count == 3
    assert abs(coverage[-1] - (1 - unk_share)) < 1e-12
glue("closed_vocabulary", Text(
    f"In the training text every type occurs at least {rarest_train_count} times, and"
    " the test text holds no word that the training text lacks."
    if unseen_test_tokens == 0 else
    f"This profile reads only the first {cfg.wikitext_lines:,} lines of each split:"
    f" there the rarest training types occur {rarest_train_count} time(s), and"
    f" {unseen_test_tokens:,} test tokens are words missing from the training slice"
    " (over the whole splits there are none)."), display=False)

# %% [markdown]
# With a thousand types about {glue:text}`coverage_1000:.0f`% of the test tokens are
# covered, and the whole training vocabulary covers {glue:text}`coverage_full:.1f`%.
# WikiText-2 was published with a closed vocabulary: its makers replaced rare words by
# `<unk>` before cutting the splits. {glue:text}`closed_vocabulary` The
# {glue:text}`test_unk_share:.1f`% of test tokens that are literally `<unk>` are exactly
# what no vocabulary can cover. Every model in this book predicts `<unk>` like any other
# type, so their perplexities stay comparable.
#
# `<unk>` is not the only answer to rare words. *Subword* tokenizers cut a rare word
# into frequent pieces ("zyzzyva" might become `zy` `zz` `y` `va`), so that no word is
# ever unknown and the vocabulary stays small. {doc}`11_bert_gpt_t5` builds one,
# byte-pair encoding; until then the book keeps WikiText-2's words, so that every
# language model is scored on the same tokens.

# %% [markdown]
# ## Chinese by characters, English by words
#
# Chinese is written without spaces between words, and segmenting it into words is
# itself a hard problem. The simplest tokenizer — used by the translation chapters —
# treats **every character as a token**. Our translation corpus is the Tatoeba
# Chinese–English sentence pairs.

# %%
pairs = data.cmn_eng_pairs()
chinese_vocab = text.Vocab(ch for _, zh in pairs for ch in text.chinese_tokenize(zh))
english_vocab = text.Vocab(w for en, _ in pairs for w in text.english_tokenize(en))
len(pairs), len(chinese_vocab), len(english_vocab)

# %%
chinese = text.chinese_tokenize("我是一个学生")
english = text.english_tokenize("I am a student")
chinese, chinese_vocab.encode(chinese), english, english_vocab.encode(english)

# %% tags=["hide-input"]
assert chinese == ["我", "是", "一", "个", "学", "生"]
assert english == ["i", "am", "a", "student"]
assert chinese_vocab.decode(chinese_vocab.encode(chinese)) == chinese

# %% tags=["remove-cell"]
zh_types = chinese_vocab.itos[len(text.SPECIALS):]
not_hanzi = [ch for ch in zh_types if "CJK" not in unicodedata.name(ch, "")]
latin_pairs = sum(any(c.isascii() and c.isalpha() for c in zh) for _, zh in pairs)
glue("num_pairs", len(pairs), display=False)
glue("zh_types", len(zh_types), display=False)
glue("zh_not_hanzi", len(not_hanzi), display=False)
glue("zh_latin_pairs", latin_pairs, display=False)
glue("en_types", len(english_vocab) - len(text.SPECIALS), display=False)


def unknown_rate(tokenize, side: int) -> float:
    """Share of test tokens of one side that the training split's tokens lack."""
    seen = {t for pair in data.cmn_eng_split("train") for t in tokenize(pair[side])}
    test = [t for pair in data.cmn_eng_split("test") for t in tokenize(pair[side])]
    return sum(t not in seen for t in test) / len(test)


zh_unknown = unknown_rate(text.chinese_tokenize, 0)  # cmn_eng_split: (zh, en)
en_unknown = unknown_rate(text.english_tokenize, 1)
glue("zh_unknown", 100 * zh_unknown, display=False)
glue("en_unknown", 100 * en_unknown, display=False)
glue("unknown_ratio", en_unknown / zh_unknown, display=False)
assert zh_unknown < en_unknown  # the sentence below says so

# %% [markdown]
# The {glue:text}`num_pairs:,` pairs use {glue:text}`zh_types:,` distinct characters on
# the Chinese side — {glue:text}`zh_not_hanzi` of them digits, Latin letters and
# punctuation, since {glue:text}`zh_latin_pairs` Chinese sentences embed a Latin word,
# which the character tokenizer spells letter by letter ("Tom游泳。" → `T` `o` `m` `游`
# `泳` `。`) — and {glue:text}`en_types:,` distinct English words. A character
# vocabulary stays small and has few unknowns: with vocabularies from the training
# split of {doc}`07_seq2seq_attention`, {glue:text}`zh_unknown:.2f`% of the Chinese test
# characters are unseen against {glue:text}`en_unknown:.1f`% of the English test words,
# {glue:text}`unknown_ratio:.0f` times fewer. The price is longer sequences:
# 我是一个学生 is six tokens where the English is four.

# %% [markdown]
# ## One-hot vectors, and why they fail
#
# The most direct way to turn an id into a vector is the **one-hot** encoding: a vector
# of length $|V|$ with a 1 at the word's id and 0 elsewhere, $\mathbf{e}_i \in
# \{0,1\}^{|V|}$.

# %%
words = ["cat", "dog", "car"]
word_ids = torch.tensor(vocab.encode(words))
one_hot = torch.nn.functional.one_hot(word_ids, num_classes=len(vocab)).float()
one_hot.shape

# %% [markdown]
# Every pair of distinct words is equally far apart: the cosine similarity of
# $\mathbf{e}_i$ and $\mathbf{e}_j$ is $\mathbf{e}_i^\top \mathbf{e}_j /
# (\lVert\mathbf{e}_i\rVert\,\lVert\mathbf{e}_j\rVert) = 0$ and their Euclidean distance
# is $\sqrt{2}$, whether the words are *cat* and *dog* or *cat* and *car*.

# %%
cosine = torch.nn.functional.cosine_similarity(
    one_hot[:, None, :], one_hot[None, :, :], dim=-1
)
distance = torch.cdist(one_hot, one_hot)
off_diagonal = ~torch.eye(3, dtype=torch.bool)
assert torch.equal(cosine, torch.eye(3))
assert torch.allclose(distance[off_diagonal], torch.tensor(math.sqrt(2)))
cosine

# %% [markdown]
# The representation carries no notion of similarity, so nothing learned about *cat*
# transfers to *dog*. It is also wasteful: the dimension grows with the vocabulary, and
# almost every entry is zero. A typical language-model batch of 32 sequences of 35
# tokens, one-hot encoded over the WikiText-2 vocabulary in 32-bit floats, needs:

# %%
batch, time_steps, embed_dim = 32, 35, 200
bytes_per_float = torch.finfo(torch.float32).bits // 8
one_hot_bytes = batch * time_steps * len(vocab) * bytes_per_float
dense_bytes = batch * time_steps * embed_dim * bytes_per_float
one_hot_bytes / 2**20, dense_bytes / 2**20  # MiB

# %% tags=["remove-cell"]
glue("one_hot_mib", one_hot_bytes / 2**20, display=False)
glue("dense_kib", dense_bytes / 2**10, display=False)
glue("one_hot_ratio", one_hot_bytes / dense_bytes, display=False)
glue("vocab_size", len(vocab), display=False)

# %% [markdown]
# {glue:text}`one_hot_mib:.0f` MiB for one batch of shape $(B, T, |V|)$ with $|V| =$
# {glue:text}`vocab_size:,` — against {glue:text}`dense_kib:.0f` KiB for dense
# 200-dimensional vectors of shape $(B, T, D)$, {glue:text}`one_hot_ratio:.0f` times
# less. {doc}`03_neural_lm` replaces one-hot vectors with learned **embeddings**: short
# dense vectors in which similar words end up close together, and {doc}`04_word2vec`
# learns them from raw text alone.

# %% [markdown]
# ## Batches for language models: $(B, T)$
#
# A language model reads a long stream of ids and predicts each next token. For
# efficient training we cut the stream into $B$ parallel rows and read them $T$ steps at
# a time: the input is a $(B, T)$ block of ids and the target is the same block shifted
# one step to the left.
#
# ```{literalinclude} ../lib/n2t/text.py
# :pyobject: LMStream.__iter__
# :caption: lib/n2t/text.py
# ```

# %%
stream = torch.tensor(vocab.encode(train_tokens[: 4 * 40]))
batches = text.LMStream(stream, batch_size=cfg.batch_size, seq_len=cfg.seq_len)
inputs, targets = next(iter(batches))
inputs.shape, targets.shape

# %%
assert inputs.shape == (cfg.batch_size, cfg.seq_len)
assert torch.equal(inputs[:, 1:], targets[:, :-1])  # the target is the input shifted
markdown_table(
    ["row", "input (first tokens)", "target (first tokens)"],
    [[row, as_code(vocab.decode(inputs[row, :6])),
      as_code(vocab.decode(targets[row, :6]))] for row in range(cfg.batch_size)],
)

# %% [markdown]
# ## Batches of sentence pairs: padding and masks
#
# Translation data comes as pairs of sentences of different lengths. To stack them into
# one tensor we pad every sentence to the longest in the batch with `<pad>`, and we keep
# a **mask** saying which positions are real tokens. Throughout the library a mask is
# `True` where a position holds a real token (and so may be attended to) and `False` at
# padding. The target side gets `<bos>` and `<eos>` around it. The batch has shapes $(B,
# L_\text{src})$ and $(B, L_\text{tgt})$; after an embedding layer each becomes $(B, L,
# D)$. As in {doc}`07_seq2seq_attention`, Chinese is the source and English the target.

# %%
lengths_wanted = (3, 5, 7, 9)  # sentences of different lengths, to see the padding
some_pairs = [
    next((text.chinese_tokenize(zh), text.english_tokenize(en)) for en, zh in pairs
         if len(text.chinese_tokenize(zh)) == length)
    for length in lengths_wanted
]
batch = text.pair_batch(some_pairs, chinese_vocab, english_vocab)
batch.src.shape, batch.src_lengths, batch.tgt.shape

# %% tags=["hide-input"]
assert batch.src_lengths.tolist() == list(lengths_wanted)
assert torch.equal(batch.src_mask, batch.src != chinese_vocab.pad_id)
assert batch.src_mask.sum().item() == sum(len(s) for s, _ in some_pairs)
assert (batch.tgt[:, 0] == english_vocab.bos_id).all()

# %% mystnb={"figure": {"caption": "A padded batch of four Chinese sentences of 3, 5, 7 and 9 characters: each row is a sentence, each column a position. Real tokens (mask True) are dark; the `<pad>` positions (mask False) are white.", "name": "fig-padding-mask"}, "image": {"alt": "A four-by-nine grid. Each row holds the characters of one sentence in dark blue cells; rows of 3, 5 and 7 characters end in white cells marked pad, and the longest row has no padding."}}
fig, ax = plt.subplots(figsize=(6.4, 2.4))
n2t.plot.heatmap(
    batch.src_mask.int(), xlabel="position in the sentence",
    ylabel="sentence in the batch", colorbar=False, cmap="Blues", vmin=0, vmax=1.3,
    ax=ax,
)
for (row, col), token_id in np.ndenumerate(batch.src.numpy()):
    token = chinese_vocab.decode([token_id])[0]
    ax.text(col, row, token, ha="center", va="center", fontsize=7,
            color="white" if batch.src_mask[row, col] else "black")
ax.set_title("src_mask: True (dark) = real token, False (white) = <pad>")
plt.show()

# %% [markdown]
# ## What one-hot text still cannot do
#
# We can now turn any text in the book into tensors: token streams as $(B, T)$ ids for
# language models and padded $(B, L)$ ids with masks for sentence pairs. But an id is
# only a name. {doc}`02_ngram_models` counts how often ids follow each other — the
# n-gram language model — and runs straight into the long tail that Zipf's law predicts:
# most word sequences are never seen. {doc}`03_neural_lm` then gives each id a learned
# vector, so that what the model learns about one word can help with similar ones.
#
# ## Exercises
#
# 1. Fit Zipf's exponent on WikiText-2 *validation* and on *The Time Machine*
#    (`n2t.data.timemachine()`). Is $\alpha$ the same? What changes when you fit ranks
#    1–100 only?
# 2. Build a vocabulary with `min_freq=10`. How many types remain, and what fraction of
#    test tokens becomes `<unk>`? Why does `min_freq=3` change nothing on WikiText-2?
# 3. Heaps' law says the number of types grows like $N^\beta$ with the number of tokens
#    $N$ {cite:p}`heaps1978`. Plot types against tokens for growing prefixes of the
#    training text and estimate $\beta$.
# 4. Tokenize the Chinese side of the translation pairs by characters and compute the
#    average sentence length in tokens for Chinese and for English. Which side will need
#    longer sequences?
# 5. How much memory would one-hot inputs need for a batch of 64 sequences of 512 tokens
#    over a 50,000-type vocabulary? Compare with 768-dimensional embeddings.
