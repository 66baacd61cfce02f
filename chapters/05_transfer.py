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
# # Pretraining and transfer
#
# Labelled data is scarce and unlabelled text is plentiful. Someone has to mark each
# message as spam or not, each sentence as opinion or fact; nobody has to mark the two
# million words of WikiText-2 {cite:p}`merity2016` that {doc}`04_word2vec` learned its
# vectors from. **Pretraining** learns on a task with plenty of data (predicting words
# from their neighbours) and **transfer learning** reuses what it learned on the task
# we care about, the **downstream task**, where labels are few. This chapter sets up
# that comparison for the rest of the book: two labelled tasks with fixed splits, one
# small classifier that can sit on top of any pretrained representation, and a
# **learning curve** — test score against the number of labelled examples — that
# shows where pretraining helps and where plain supervised learning catches up.
# Word2vec is the first representation to go through it; the ELMo vectors of the next
# chapter and the Transformers of a later one go through the same curve.

# %% tags=["remove-cell"]
from collections import Counter

import matplotlib.pyplot as plt
import torch
from n2t.book import Text, compare, glue, markdown_table

import n2t.plot
import n2t.profile
from n2t import classify, data, lm, text, transfer, zoo
from n2t.metrics import accuracy, macro_f1

n2t.plot.use_book_style()
torch.manual_seed(0)
# Small tensors: one CPU thread beats two that must keep synchronising.
torch.set_num_threads(1)
cfg = n2t.profile.current().settings("transfer")

# %% [markdown]
# ## Learn once, reuse: freeze or fine-tune
#
# A text classifier of the kind built here reads the vectors $\mathbf{E}_{w_1}, \dots,
# \mathbf{E}_{w_T}$ of a text's tokens from an embedding table $\mathbf{E}$, pools them
# into one vector and scores the classes with a small network $g_\theta$:
#
# $$
# P(y \mid w_{1:T}) = \operatorname{softmax}\big(
#   g_\theta(\operatorname{pool}(\mathbf{E}_{w_1}, \dots, \mathbf{E}_{w_T}))\big)_y .
# $$
#
# Without pretraining, $\mathbf{E}$ starts random and every row must be learned from
# the labelled examples alone. With pretraining, $\mathbf{E}$ starts as the word2vec
# vectors, and there are two ways to use them {cite:p}`yosinski2014,kim2014`:
#
# - **freeze** them: train only $\theta$ and keep $\mathbf{E}$ fixed. Every word keeps
#   what it learned from WikiText-2, including words that no labelled example contains;
# - **fine-tune** them: train $\theta$ and $\mathbf{E}$ together, starting from the
#   pretrained values, so the vectors can adapt to the task.
#
# Fine-tuning has more freedom, and with enough labels that freedom pays. With few
# labels it is a risk: only the rows of words that occur in the training examples
# move, so they drift away from the words that do not occur — which keep their
# pretrained vectors and meet a network fitted to the moved ones — and the many free
# parameters can fit the few examples' accidents. Freezing cannot overfit the vectors,
# but cannot repair them either. Which one wins, and from how many labels on, is an
# empirical question {cite:p}`peters2019,howard2018`; this chapter measures it.
# {numref}`fig-classifier-architecture` shows the whole classifier and what each
# variant trains.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The classifier of this chapter. The token encoder $\\mathbf{E}$ looks up one vector per token; pooling takes their mean and their element-wise maximum over the real tokens and joins them; the head $g_\\theta$ (batch normalisation, dropout, a hidden ReLU layer and a linear layer with a softmax) scores the classes. The three variants differ only in $\\mathbf{E}$: random and trained, word2vec and frozen, or word2vec and fine-tuned; the head is trained in all three. Sizes: this chapter's settings.", "name": "fig-classifier-architecture"}, "image": {"alt": "A diagram drawn from bottom to top. Tokens w_1 to w_T point into a blue token-encoder box E, which says: random, learned from the labels alone; word2vec frozen, fixed, never trained; word2vec fine-tuned, trained with the head. One vector per token comes out; all of them feed two grey boxes, mean over t and max over t, which are joined into one vector of twice the width. A purple batch-normalisation box, a green box with dropout, a linear layer and ReLU, and a red box with a linear layer and softmax giving P(y | w_1:T) follow; a bracket marks these three as g_theta, trained in every variant."}}
import n2t.diagrams

n2t.diagrams.classifier()

# %% [markdown]
# ## Two tasks, one for the rest of the book
#
# The **SMS Spam Collection** {cite:p}`almeida2011` holds text messages labelled
# `ham` (legitimate) or `spam`; the **subjectivity** data {cite:p}`pang2004` holds
# sentences from film reviews (`subjective`) and from plot summaries (`objective`).
# `n2t.data.text_task` splits each into fixed, seeded train, valid and test parts,
# stratified so that each part has the same label mix. The SMS collection repeats
# hundreds of messages, word for word or with only a phone number or a prize code
# changed; a copy in the test split of a training message would be a free answer, so
# texts that read alike once tokenised, with every digit written as 0, are kept once.

# %%
tasks = {name: data.text_task(name) for name in cfg.tasks}


def split_row(task):
    """Sizes of the splits and the share of each label in the test split."""
    counts = Counter(e.label for e in task.test)
    shares = ", ".join(f"{label} {counts[label] / len(task.test):.1%}"
                       for label in task.labels)
    return [task.name, len(task.train), len(task.valid), len(task.test), shares]


markdown_table(["task", "train", "valid", "test", "labels (test)"],
               [split_row(task) for task in tasks.values()])

# %% tags=["remove-cell"]
spam_task, subj_task = tasks["sms-spam"], tasks["subj"]
raw_spam = data.sms_spam()
glue("spam_raw", len(raw_spam), display=False)
duplicates = len(raw_spam) - len({text for _, text in raw_spam})
near = len({text for _, text in raw_spam}) - len({data.task_text_key(text)
                                                  for _, text in raw_spam})
glue("spam_duplicates", duplicates, display=False)
glue("spam_near_duplicates", near, display=False)
spam_share = sum(e.label == "spam" for e in spam_task.test) / len(spam_task.test)
glue("spam_share", 100 * spam_share, display=False)
subj_total = sum(len(subj_task.split(split)) for split in data.TASK_SPLITS)
glue("subj_total", subj_total, display=False)

# %% [markdown]
# Of the {glue:text}`spam_raw:,` messages, {glue:text}`spam_duplicates:,` repeat an
# earlier one word for word and {glue:text}`spam_near_duplicates:,` more up to their
# digits. A few examples of each label:

# %%
for task in tasks.values():
    for label in task.labels:
        short = [e.text for e in task.train if e.label == label and len(e.text) < 70]
        print(f"{task.name:8} {label:10} | {short[0]}")

# %% [markdown]
# The subjectivity task is balanced (its {glue:text}`subj_total:,` sentences are half
# each); the SMS task is not: only {glue:text}`spam_share:.1f`% of its messages are
# spam. On imbalanced data **accuracy** flatters a classifier that always answers the
# common class. The book reports **macro-F1** beside it: for each class $c$, with
# $\mathrm{TP}_c$, $\mathrm{FP}_c$ and $\mathrm{FN}_c$ the true positives, false
# positives and false negatives of that class,
#
# $$
# F_{1,c} = \frac{2\,\mathrm{TP}_c}{2\,\mathrm{TP}_c + \mathrm{FP}_c + \mathrm{FN}_c},
# \qquad
# \text{macro-}F_1 = \frac{1}{C} \sum_{c=1}^{C} F_{1,c},
# $$
#
# so the rare class counts as much as the common one. A classifier that calls every
# message `ham`:

# %%
test_labels = spam_task.label_ids(spam_task.test)
always_ham = torch.zeros_like(test_labels)  # class 0 is "ham"
tp = int((test_labels == 0).sum())
fp = len(test_labels) - tp
f1_ham = 2 * tp / (2 * tp + fp)  # no false negatives for "ham"; "spam" scores 0
assert macro_f1(always_ham, test_labels, 2) == (f1_ham + 0.0) / 2
markdown_table(["always `ham`", "accuracy", "macro-F1"],
               [("test split", f"{accuracy(always_ham, test_labels):.3f}",
                 f"{(f1_ham + 0.0) / 2:.3f}")])

# %% tags=["remove-cell"]
glue("ham_accuracy", accuracy(always_ham, test_labels), display=False)
glue("ham_macro_f1", (f1_ham + 0.0) / 2, display=False)

# %% [markdown]
# Accuracy {glue:text}`ham_accuracy:.3f` for a classifier that has learned nothing;
# macro-F1 {glue:text}`ham_macro_f1:.3f` says so.
#
# ## What WikiText-2 knows of these texts
#
# Pretrained vectors exist only for the words of the pretraining corpus. The tasks are
# tokenised the way WikiText-2 was, so that the same word gets the same token
# (`n2t.text.wikitext_tokenize`: lower case, contractions split before the apostrophe
# as in WikiText-2's `don 't`). A lower-case token says nothing about casing, so it
# finds the vector of its word's most frequent casing: "paris" finds "Paris", and "i"
# the pronoun "I", not WikiText-2's rare roman numeral "i":

# %%
message = "Don't miss it! Txt WIN to 80086 for ur £100 prize"
text.wikitext_tokenize(message)

# %% [markdown]
# The **vocabulary coverage** counts how many running tokens, and how many distinct
# types, of each task's training texts have a vector — in the 33,278-type vocabulary of
# WikiText-2 ({doc}`03_neural_lm`), and in the smaller vocabulary of word2vec, which
# kept only the words seen at least five times:

# %%
w2v_vectors, w2v_itos = transfer.word2vec_vectors()
w2v_vocab, _ = transfer.restrict_vectors(
    w2v_vectors, w2v_itos, [e.text for task in tasks.values() for e in task.train]
)
vocabularies = {"WikiText-2": lm.wikitext2_vocab(), "word2vec": w2v_vocab}
coverages = {
    (task.name, source): classify.coverage([e.text for e in task.train], vocab)
    for task in tasks.values()
    for source, vocab in vocabularies.items()
}
markdown_table(
    ["task", "vocabulary", "tokens covered", "types covered"],
    [[task, source, f"{c.token_rate:.1%}", f"{c.type_rate:.1%} of {c.types:,}"]
     for (task, source), c in coverages.items()],
)

# %% tags=["remove-cell"]
for (task_name, source), c in coverages.items():
    key = f"{task_name.replace('-', '_')}_{source.replace('-', '').lower()}"
    glue(f"cover_{key}", 100 * c.token_rate, display=False)
    glue(f"cover_types_{key}", 100 * c.type_rate, display=False)
glue("w2v_words", len(w2v_itos), display=False)

# %% [markdown]
# The tokens that miss most often tell the two tasks apart:

# %%
def missing(task, vocab, k=12):
    """The most frequent training tokens without a vector, written as code."""
    find = classify.lookup(vocab)
    counts = Counter(t for e in task.train for t in text.wikitext_tokenize(e.text)
                     if not find.known(t))
    return ", ".join(f"`{token}`" for token, _ in counts.most_common(k))


markdown_table(["task", "most frequent tokens without a word2vec vector"],
               [[task.name, missing(task, w2v_vocab)] for task in tasks.values()])

# %% [markdown]
# Subjectivity sentences are edited English, review snippets for the subjective half and
# plot summaries for the objective half (Pang and Lee took them from Rotten Tomatoes and
# the Internet Movie Database {cite:p}`pang2004`, and ship them lower-cased), and
# {glue:text}`cover_subj_word2vec:.1f`% of their tokens have a word2vec vector
# ({glue:text}`cover_subj_wikitext2:.1f`% are in WikiText-2's vocabulary). Text messages
# are written in another register, with abbreviations, symbols and spellings that an
# encyclopaedia does not use, and with numbers (prices, phone numbers, short codes) that
# are rare as types even where they are common as a kind. Only
# {glue:text}`cover_sms_spam_word2vec:.1f`% of their tokens have a word2vec vector
# (WikiText-2's vocabulary covers {glue:text}`cover_sms_spam_wikitext2:.1f`%). A token
# without a vector becomes `<unk>`, whose vector is word2vec's own `<unk>` row
# (WikiText-2 writes `<unk>` for its rare words): the classifier sees that *something*
# rare was there, not what. This is the first limit of transfer: pretraining helps only
# where the pretraining text resembles the task's.
#
# ## The classifier
#
# The classifier must be cheap on a CPU, because the learning curve trains it hundreds
# of times, and it should let the comparison be about the vectors. It therefore pools:
# the **mean** of a text's token vectors says what the text is about on average
# {cite:p}`iyyer2015`, the element-wise **maximum** keeps the strongest signal of any
# single word (one "prize" in a message), and joining the two is the pooling of Shen et
# al.'s simple word-embedding models {cite:p}`shen2018`. Pooling has no parameters and
# ignores word order, so every difference between two encoders is a difference between
# their vectors. A recurrent or convolutional layer would read order too
# {cite:p}`kim2014`, at a higher cost per step; the next chapter puts order into the
# vectors instead.
#
# ```{literalinclude} ../lib/n2t/classify.py
# :caption: lib/n2t/classify.py — pooling over the real tokens
# :start-after: [pool]
# :end-before: [/pool]
# :dedent:
# ```
#
# The pooled vector goes through a small network. Its first layer standardises each
# feature with batch normalisation {cite:p}`ioffe2015`: averages of word vectors
# differ little from one text to the next (frequent words dominate every average), and
# without it the network would need large weights to see those differences.
#
# ```{literalinclude} ../lib/n2t/classify.py
# :caption: lib/n2t/classify.py — the layers of Classifier
# :start-after: [classifier]
# :end-before: [/classifier]
# :dedent:
# ```
#
# Its `forward(ids, mask)` is `head(pool(encoder(ids, mask), mask))`.

# %% [markdown]
# The encoder below the pooling is any module with a vocabulary, a width and a
# `forward(ids, mask)` that returns one vector per token; later chapters plug in
# encoders whose vectors depend on the context. This chapter's encoder looks each
# token up in a table:
#
# ```{literalinclude} ../lib/n2t/classify.py
# :caption: lib/n2t/classify.py — EmbeddingEncoder.forward
# :start-after: [embed]
# :end-before: [/embed]
# :dedent:
# ```
#
# Pooling by hand agrees with the library on a batch of two texts, one of them padded
# (the largest difference between the two):

# %%
encoder = transfer.embedding_encoder(spam_task, "word2vec frozen")
ids, mask = classify.pad_ids(
    classify.encode_texts(["free prize , call now", "see you later"], encoder.vocab),
    encoder.vocab.pad_id,
)
vectors = encoder(ids, mask)
by_hand = torch.stack([
    torch.cat([vectors[b, mask[b]].mean(dim=0), vectors[b, mask[b]].max(dim=0).values])
    for b in range(2)
])
torch.testing.assert_close(classify.pool(vectors, mask), by_hand)
float((classify.pool(vectors, mask) - by_hand).abs().max())

# %% [markdown]
# All three encoders share one vocabulary — the
# word2vec words that the task's texts use, plus `<unk>` and `<pad>` — and one scale:
# the random table is drawn with the standard deviation of the word2vec vectors, so
# the only difference is what the vectors know. (Keeping only the rows the task uses
# changes no result, as those are the only rows a text can reach; it makes each
# training step cheaper.)
#
# ## Freezing and fine-tuning, side by side
#
# Train the frozen and the fine-tuned classifier on the same 256 SMS messages and
# compare their tables before and after:

# %%
demo_size, seed = 256, 0
train_labels = spam_task.label_ids(spam_task.train)
subset = transfer.labelled_subset(train_labels, demo_size, seed)
steps = transfer.steps_for(demo_size, cfg)
tables = {}
for variant in ("word2vec frozen", "word2vec fine-tuned"):
    encoder = transfer.embedding_encoder(spam_task, variant, seed)
    before = encoder.embedding.weight.detach().clone()
    train = classify.encode_examples(spam_task, spam_task.train, encoder,
                                     cfg.max_len)
    chosen = train.select(subset)
    model = classify.Classifier(encoder, 2, cfg.hidden, cfg.dropout)
    classify.train_classifier(model, chosen, steps, cfg.batch_size, cfg.lr,
                              cfg.encoder_lr, seed)
    tables[variant] = (before, encoder.embedding.weight.detach().cpu())

# %%
frozen_before, frozen_after = tables["word2vec frozen"]
tuned_before, tuned_after = tables["word2vec fine-tuned"]
assert torch.equal(frozen_before, frozen_after)  # frozen: not one number changed
moved = (tuned_after - tuned_before).norm(dim=1)
assert moved.max() > 0  # fine-tuned: the vectors moved
frozen_changed = int((frozen_after != frozen_before).any(dim=1).sum())
markdown_table(["variant", "rows changed", "rows in the table"], [
    ("word2vec frozen", frozen_changed, len(moved)),
    ("word2vec fine-tuned", int((moved > 0).sum()), len(moved)),
])

# %% [markdown]
# Only the rows of words that occur in the 256 messages moved. The ten that moved
# furthest, with how often they occur in those messages and in how many of the spam
# ones:

# %%
vocab = encoder.vocab  # the fine-tuned encoder's (all three share it)
seen = Counter(chosen.ids[chosen.mask].tolist())
is_spam = chosen.labels == 1
spam_in = Counter(i for ids, m in zip(chosen.ids[is_spam], chosen.mask[is_spam],
                                      strict=True)
                  for i in set(ids[m].tolist()))
rows = [[f"`{vocab.itos[i]}`", f"{moved[i]:.3f}", seen[i], spam_in[i]]
        for i in moved.argsort(descending=True)[:10].tolist()]
markdown_table(["word", "distance moved", "tokens", "spam messages with it"], rows)

# %% tags=["remove-cell"]
glue("moved_rows", int((moved > 0).sum()), display=False)
glue("table_rows", len(moved), display=False)

# %% [markdown]
# Fine-tuning moved {glue:text}`moved_rows:,` of the {glue:text}`table_rows:,` rows.
# Which test tokens does fine-tuning reach? Only those whose word occurs in the
# labelled examples; the others keep their word2vec vectors while the network above
# them was fitted to moved ones. The share grows quickly with the number of labels,
# because a few frequent words make up most of the running text:

# %%
test = classify.encode_examples(spam_task, spam_task.test, encoder, cfg.max_len)
test_tokens = test.ids[test.mask]
reached = {}
for n in [*cfg.sizes[:-1], len(train_labels)]:
    seen_rows = train.ids[transfer.labelled_subset(train_labels, n, seed)]
    seen_rows = seen_rows[seen_rows != vocab.pad_id].unique()
    reached[n] = torch.isin(test_tokens, seen_rows).float().mean().item()
markdown_table(["labelled messages", "test tokens whose row fine-tuning moves"],
               [(f"{n:,}", f"{share:.1%}") for n, share in reached.items()])

# %% tags=["remove-cell"]
glue("reached_first", 100 * reached[cfg.sizes[0]], display=False)
glue("reached_first_size", cfg.sizes[0], display=False)
glue("reached_all", 100 * reached[len(train_labels)], display=False)

# %% [markdown]
# With {glue:text}`reached_first_size` labelled messages, fine-tuning reaches
# {glue:text}`reached_first:.1f`% of the test tokens; with the whole training split,
# {glue:text}`reached_all:.1f`%. The tokens it never reaches are the rare words, and
# those are where a pretrained vector has the most to offer and a moved neighbour the
# most to disturb.
#
# ## The learning curve
#
# The learning curve trains the classifier on a fresh encoder for every number of
# labelled examples and every seed, and scores the whole test split. The subsets are
# stratified (each keeps the label mix, with at least one example per class) and
# nested (for one seed, the 64 examples contain the 32). A run takes the steps of Adam
# {cite:p}`kingma2015` that {glue:text}`epochs` passes over its examples need, but never
# fewer than {glue:text}`min_steps` nor more than {glue:text}`max_steps`; a frozen
# encoder's pooled vectors are computed once and reused. The steps of each size:
#
# %% tags=["hide-input"]
def steps_row(label, n):
    steps = transfer.steps_for(n, cfg)
    return label, steps, f"{steps * min(cfg.batch_size, n) / n:.1f}"


markdown_table(
    ["labelled examples", "steps", "passes over them"],
    [*(steps_row(f"{n:,}", n) for n in cfg.sizes[:-1]),
     *(steps_row(f"all {len(task.train):,} ({task.name})", len(task.train))
       for task in tasks.values())],
)

# %% [markdown]
# ```{literalinclude} ../lib/n2t/transfer.py
# :caption: lib/n2t/transfer.py — learning_curve, one run
# :start-after: [curve]
# :end-before: [/curve]
# :dedent:
# ```
#
# Beside the three encoders runs the counting baseline that a practitioner would try
# first: **logistic regression on a bag of words**, one weight per word seen in the
# training examples and class, each class's weights L2-regularised with strength
# $1/(2C)$ for $C =$ {glue:text}`bow_c:g`, and fitted exactly with L-BFGS. For two
# classes only the difference of the two rows counts, and the penalty on it is half as
# strong: the model is scikit-learn's binary logistic regression at $C =$
# {glue:text}`bow_sklearn_c:g` (its default is $C = 1$), on word presence rather than
# counts. Such baselines are famously hard to beat on text classification
# {cite:p}`wang2012`. The zoo caches all the runs (the artefact `transfer-curves`) so
# that later chapters can set their encoders beside them:

# %% tags=["remove-cell"]
glue("epochs", cfg.epochs, display=False)
glue("min_steps", cfg.min_steps, display=False)
glue("max_steps", cfg.max_steps, display=False)
glue("bow_c", cfg.bow_c, display=False)
glue("bow_sklearn_c", 2 * cfg.bow_c, display=False)

# %%
records = zoo.get("transfer-curves").metrics["records"]
summary = transfer.summarise(records)
variants = [*transfer.EMBEDDING_VARIANTS, transfer.BAG_OF_WORDS]
sizes = {name: sorted({r["size"] for r in records if r["task"] == name})
         for name in cfg.tasks}
len(records)

# %% tags=["remove-cell"]
expected = len(cfg.tasks) * len(variants) * len(cfg.sizes) * len(cfg.seeds)
assert len(records) == expected, (len(records), expected)
assert all(0 <= r["macro_f1"] <= 1 and 0 <= r["accuracy"] <= 1 for r in records)
assert all(len(sizes[name]) == len(cfg.sizes) for name in cfg.tasks)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Test macro-F1 against the number of labelled training examples (log scale) on the SMS spam task (left) and the subjectivity task (right), for the classifier over random, frozen word2vec and fine-tuned word2vec embeddings, and for the bag-of-words logistic regression. Points are means over the seeds; bars show one standard deviation.", "name": "fig-transfer-curve"}, "image": {"alt": "Two panels of four rising curves each: test macro-F1 (vertical) against labelled examples from 32 to the whole training split (horizontal, logarithmic). Each curve has error bars over the seeds; the curves for random embeddings, frozen word2vec, fine-tuned word2vec and bag of words are drawn in different colours."}}
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, name in zip(axes, cfg.tasks, strict=True):
    for variant in variants:
        points = [summary[(name, variant, n)] for n in sizes[name]]
        means, stds = zip(*points, strict=True)
        ax.errorbar(sizes[name], means, yerr=stds, marker="o", markersize=3,
                    capsize=3, label=variant)
    ax.set_xscale("log")
    ax.set(xlabel="labelled training examples", title=name)
axes[0].set_ylabel("test macro-F1")
axes[1].legend(loc="lower right")
plt.show()

# %% [markdown]
# The same numbers as a table (mean ± standard deviation of test macro-F1 over the
# seeds; the last column is the whole training split):

# %%
def cell(name, variant, n):
    mean, std = summary[(name, variant, n)]
    return f"{mean:.3f} ± {std:.3f}"


markdown_table(
    ["task", "variant", *(f"{n:,}" for n in sizes[cfg.tasks[0]][:-1]), "all"],
    [[name, variant, *(cell(name, variant, n) for n in sizes[name])]
     for name in cfg.tasks for variant in variants],
)

# %% tags=["remove-cell"]
def mean(name, variant, n):
    return summary[(name, variant, n)][0]


def per_seed(name, variant, n):
    """Test macro-F1 of each seed's run, in seed order (compared runs pair up)."""
    key = (name, variant, n)
    runs = [r for r in records if (r["task"], r["variant"], r["size"]) == key]
    return [r["macro_f1"] for r in sorted(runs, key=lambda r: r["seed"])]


def better_word2vec(name, n):
    """The word2vec variant with the higher mean at n labels."""
    variants = ("word2vec frozen", "word2vec fine-tuned")
    return max(variants, key=lambda v: mean(name, v, n))


def pretrained_gain(name, n):
    """Best word2vec variant minus random embeddings, at n labelled examples."""
    best = max(mean(name, v, n) for v in ("word2vec frozen", "word2vec fine-tuned"))
    return best - mean(name, "random", n)


gains = {(name, n): pretrained_gain(name, n) for name in cfg.tasks for n in sizes[name]}
(best_task, best_n), best_gain = max(gains.items(), key=lambda item: item[1])
glue("gain_task", Text(best_task), display=False)
glue("gain_size", best_n, display=False)
glue("gain_value", best_gain, display=False)
glue("first_size", sizes[cfg.tasks[0]][0], display=False)
glue("n_sizes", len(cfg.sizes), display=False)
glue("encoder_lr", cfg.encoder_lr, display=False)
glue("head_lr", cfg.lr, display=False)
frozen_ahead = 0
for name in cfg.tasks:
    key = name.replace("-", "_")
    first, last = sizes[name][0], sizes[name][-1]
    glue(f"all_{key}", last, display=False)
    glue(f"gain_first_{key}", gains[(name, first)], display=False)
    glue(f"gain_all_{key}", gains[(name, last)], display=False)
    peak_n = max(sizes[name], key=lambda n, name=name: gains[(name, n)])
    half = gains[(name, peak_n)] / 2
    closed = next((n for n in sizes[name] if n > peak_n and gains[(name, n)] <= half),
                  None)
    task_name = {"sms-spam": "SMS spam", "subj": "subjectivity"}[name]
    glue(f"closes_{key}", Text(
        f"on {task_name} word2vec is never ahead of random embeddings: no gain closes"
        if gains[(name, peak_n)] <= 0 else
        f"on {task_name} half of the peak gain is gone by {closed:,} labelled examples"
        if closed else
        f"on {task_name} half of the peak gain is still there at every larger size"),
        display=False)
    for variant, short in (("random", "random"), ("word2vec frozen", "frozen"),
                           ("word2vec fine-tuned", "tuned"),
                           (transfer.BAG_OF_WORDS, "bow")):
        glue(f"{short}_first_{key}", mean(name, variant, first), display=False)
        glue(f"{short}_all_{key}", mean(name, variant, last), display=False)
    tuned_minus_frozen = [mean(name, "word2vec fine-tuned", n)
                          - mean(name, "word2vec frozen", n) for n in sizes[name]]
    verdicts = [compare(per_seed(name, "word2vec fine-tuned", n),
                        per_seed(name, "word2vec frozen", n)) for n in sizes[name]]
    frozen_ahead += verdicts.count("lower")
    glue(f"tuned_wins_{key}", verdicts.count("higher"), display=False)
    glue(f"diff_first_{key}", tuned_minus_frozen[0], display=False)
    glue(f"diff_all_{key}", tuned_minus_frozen[-1], display=False)
    glue(f"std_first_{key}", summary[(name, "word2vec frozen", first)][1],
         display=False)
    neural = {v: mean(name, v, last) for v in transfer.EMBEDDING_VARIANTS}
    best_variant = max(neural, key=neural.get)
    glue(f"best_all_{key}", Text(best_variant), display=False)
    glue(f"best_all_value_{key}", neural[best_variant], display=False)
    bow_verdict = compare(per_seed(name, transfer.BAG_OF_WORDS, last),
                          per_seed(name, best_variant, last))
    words = {"higher": "beats", "lower": "trails", "level": "cannot be told apart from"}
    glue(f"bow_verdict_{key}", Text(words[bow_verdict]), display=False)


def bow_majority(task, size):
    """The bag of words at ``size`` labels: its commonest answer on the test split and
    that answer's share, over the seeds."""
    labels, test_texts = task.label_ids(task.train), [e.text for e in task.test]
    answers = []
    for seed in cfg.seeds:
        index = transfer.labelled_subset(labels, size, seed).tolist()
        model = transfer.train_bag_of_words([task.train[i].text for i in index],
                                            labels[index], len(task.labels), cfg.bow_c)
        answers.append(transfer.predict_bag_of_words(model, test_texts))
    counts = torch.bincount(torch.cat(answers), minlength=len(task.labels))
    return task.labels[int(counts.argmax())], float(counts.max() / counts.sum())


for name, task in tasks.items():
    label, share = bow_majority(task, sizes[name][0])
    glue(f"bow_few_{name.replace('-', '_')}", Text(
        f"answers “{label}” for {share:.0%} of the test texts: regularised towards "
        "zero, with weights for the words of a few dozen texts only, it falls back on "
        "one answer" if share >= 0.95 else
        f"still splits its answers (its commoner one, “{label}”, for {share:.0%} of "
        "the test texts)"), display=False)
ahead = []
for name in cfg.tasks:
    few = sizes[name][0]
    if compare(per_seed(name, better_word2vec(name, few), few),
               per_seed(name, transfer.BAG_OF_WORDS, few)) == "higher":
        ahead.append(name)
task_words = {"sms-spam": "SMS spam", "subj": "subjectivity"}
few_words = "With the fewest labels the better word2vec classifier is ahead of the bag"
glue("few_labels_verdict", Text(
    f"{few_words} of words on both tasks: pretrained vectors are worth most where "
    "labels are few and a counting model has little to count"
    if len(ahead) == len(cfg.tasks)
    else f"{few_words} of words on {task_words[ahead[0]]} only" if ahead
    else "With the fewest labels no word2vec classifier is ahead of the bag of words "
    f"beyond the spread of its {len(cfg.seeds)} seed(s)"), display=False)
glue("overfit_verdict", Text(
    "does not show here: fine-tuning is never behind freezing beyond the seeds' spread"
    if not frozen_ahead
    else f"shows at {frozen_ahead} of the points, where freezing is ahead"),
    display=False)

# %% [markdown]
# **Where pretraining helps most.** The largest gain of the better word2vec variant
# over random embeddings is {glue:text}`gain_value:+.3f` macro-F1, on
# {glue:text}`gain_task` with {glue:text}`gain_size:,` labelled examples. With the
# fewest labels ({glue:text}`first_size`) the gain is
# {glue:text}`gain_first_subj:+.3f` on subjectivity and
# {glue:text}`gain_first_sms_spam:+.3f` on SMS spam (the table gives each variant).
# Subjectivity's sentences are ordinary edited English, half of them plot summaries like
# Wikipedia's articles on films: an opinion word seen in a few training sentences has
# pretrained neighbours that share its tone, so what the classifier learns about it can
# carry over to words it never saw labelled. SMS spam
# turns on tokens that word2vec has no vector for (the coverage table lists the most
# frequent), and about those the pretrained table knows as little as the random one.
#
# **Where the gap closes.** Where word2vec helps, larger labelled sets close the gap:
# {glue:text}`closes_subj`, and {glue:text}`closes_sms_spam`. With the whole training
# split the gain is {glue:text}`gain_all_subj:+.3f` on subjectivity
# ({glue:text}`all_subj:,` examples) and {glue:text}`gain_all_sms_spam:+.3f` on SMS
# spam ({glue:text}`all_sms_spam:,`): enough labels teach random vectors what the task
# needs of what word2vec knew.
#
# **Freeze or fine-tune.** Fine-tuned vectors score higher than frozen ones, by more
# than the seeds' spread (the 95 % interval of the paired per-seed differences excludes
# zero), at {glue:text}`tuned_wins_subj` of the {glue:text}`n_sizes` sizes on
# subjectivity and at {glue:text}`tuned_wins_sms_spam` on SMS spam. At
# {glue:text}`first_size` labels the difference (fine-tuned minus frozen) is
# {glue:text}`diff_first_subj:+.3f` on subjectivity, where the frozen runs themselves
# spread by {glue:text}`std_first_subj:.3f` across seeds, and
# {glue:text}`diff_first_sms_spam:+.3f` on SMS spam; with all the labels it is
# {glue:text}`diff_all_subj:+.3f` and {glue:text}`diff_all_sms_spam:+.3f`. The
# overfitting that the argument at the start of the chapter feared
# {glue:text}`overfit_verdict`. Fine-tuning here is cautious: the vectors learn at
# {glue:text}`encoder_lr` (the head at {glue:text}`head_lr`) and move little (the table
# of moved words above), even in the smallest runs, which take {glue:text}`min_steps`
# steps and so pass over their few examples many times (the table of steps above);
# frozen vectors can never take up what the task teaches — such as which frequent words
# mark spam. Exercise 5 makes fine-tuning bolder.
#
# **The counting baseline.** With all the labels the bag of words
# {glue:text}`bow_verdict_sms_spam` the best embedding classifier on SMS spam
# ({glue:text}`bow_all_sms_spam:.3f` against {glue:text}`best_all_value_sms_spam:.3f`,
# the {glue:text}`best_all_sms_spam` variant) and {glue:text}`bow_verdict_subj` it on
# subjectivity ({glue:text}`bow_all_subj:.3f` against
# {glue:text}`best_all_value_subj:.3f`, {glue:text}`best_all_subj`). It has a weight
# for every token of the training messages, abbreviations and numbers included, where
# the embedding classifiers see many of those as one `<unk>`. With
# {glue:text}`first_size` labels it scores {glue:text}`bow_first_sms_spam:.3f` on SMS
# spam, where always answering `ham` scores {glue:text}`ham_macro_f1:.3f`, and
# {glue:text}`bow_first_subj:.3f` on subjectivity. On SMS spam it
# {glue:text}`bow_few_sms_spam`; on subjectivity, where neither label is the majority,
# it {glue:text}`bow_few_subj`. {glue:text}`few_labels_verdict`. With plenty of labels
# and a vocabulary of its own, a counting model is a baseline to beat
# {cite:p}`wang2012`.
#
# ## What word vectors cannot do
#
# A word2vec table gives "not" one vector and "good" another, whatever their order and
# whatever the sentence around them; a pooled average of them cannot tell "not good,
# just fun" from "not fun, just good". And the table is all that was transferred: the
# model that produced it, which had learned to *use* context, was thrown away.
# The next chapter keeps it: a language model that reads the whole sentence
# gives each token a vector that depends on its context, and transfers those vectors
# through the same classifier and the same learning curve.
#
# ## Exercises
#
# 1. Weight the cross-entropy by inverse class frequency on the SMS task. Does macro-F1
#    at 32 labels rise? What happens to accuracy?
# 2. Give the tokens without a word2vec vector their own rows (random, trained in all
#    variants) instead of `<unk>`. How much of the gap to the bag of words on SMS spam
#    closes?
# 3. Replace mean-and-max pooling by a one-layer bidirectional LSTM over the token
#    vectors. Measure the time per training step and the learning curve for the frozen
#    variant.
# 4. Use the CBOW vectors of {doc}`04_word2vec` (the artefact `word2vec-cbow`) instead
#    of skip-gram. Which gives the better curve on subjectivity?
# 5. Fine-tune with `encoder_lr` ten times smaller and ten times larger. At which label
#    counts does each choice win? Relate the answer to the rows that fine-tuning moves.
# 6. Choose the bag of words' regularisation $C$ on the validation split for every
#    size. How much do the first points of its curve improve, and is using the
#    validation labels fair when the point of the curve is that labels are scarce?
