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
# # The whole lineage
#
# Eleven chapters built one model after another, each to fix what the one before it
# could not do. This chapter trains nothing. It reads every model's measurements from
# the book's zoo, where the earlier chapters stored them (a model missing from the zoo
# is trained on the spot, as everywhere in the book), and puts them side by side on the
# book's three shared yardsticks: the same WikiText-2 test tokens for every language
# model, the same Chinese–English test sentences for every translation model, and the
# same labelled task for every pretrained representation.

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
from n2t.book import Text, glue, markdown_table

import n2t.plot
from n2t import lm, metrics, transfer, zoo
from n2t.clock import clock_label, clock_seconds
from n2t.profile import current

n2t.plot.use_book_style()
profile = current()
CHAPTER_FILES = {
    2: "02_ngram_models", 3: "03_neural_lm", 4: "04_word2vec",
    5: "05_transfer", 6: "06_recurrent_elmo", 7: "07_seq2seq_attention",
    8: "08_attention", 9: "09_self_attention", 10: "10_transformer",
    11: "11_bert_gpt_t5",
}

# %% tags=["remove-cell"]
glue("profile", Text(profile.name))

# %% [markdown]
# The numbers below belong to the profile this page was built with,
# **{glue:text}`profile`**.

# %% [markdown]
# ## Language models: one test set, one table
#
# Every language model of the book predicts the same
# {glue:text}`test_tokens:,` tokens of the WikiText-2 test split, with the same
# {glue:text}`vocab_size:,`-type vocabulary, so their perplexities can be compared
# directly. Two conventions of context apply, and the table says which: the n-gram
# models read each line as a sentence padded with `<bos>` (Chapter 2), the neural models
# read the running text with `<eos>` between lines (Chapter 3). Every score is the
# perplexity over the $N$ test tokens,
#
# $$\mathrm{PPL} = \exp\Big(-\frac{1}{N} \sum_{t=1}^{N} \ln P(w_t \mid h_t)\Big),$$
#
# with $h_t$ the context the model reads, and a mixture of two models predicts with
# $\lambda P_a(w \mid h) + (1 - \lambda) P_b(w \mid h)$, the weight $\lambda$ tuned on
# the validation split.

# %% tags=["remove-cell"]
glue("test_tokens", lm.TEST_TOKENS)
glue("vocab_size", lm.VOCAB_SIZE)


# %% tags=["hide-input"]
def context_of(record):
    """The context convention in a few words (and the window, if the model has one)."""
    if record["context"] == lm.NGRAM_CONTEXT:
        return "lines"
    if record.get("context_tokens") is None:  # it reads every token before
        return "running text"
    fewest, most = record["context_tokens"]
    last = f"{most}" if fewest == most else f"{fewest}–{most}"
    return f"running text, last {last} tokens"


def lm_row(name, chapter, record):
    """One row of the language-model table from a harness record."""
    return {
        "model": name,
        "chapter": chapter,
        "test_ppl": record["test_ppl"],
        "valid_ppl": record["valid_ppl"],
        "parameters": record["parameters"],
        "tokens_seen": record["tokens_seen"],
        "seconds": clock_seconds(record["clock"]),
        "clock": record["clock"],
        "context": context_of(record),
    }


ngram = zoo.get("ngram-wikitext2")
rows = [lm_row(r["model"], 2, r) for r in ngram.metrics["models"]]
# the Kneser–Ney model whose log-probabilities the mixtures use
kn_record = next(r for r in ngram.metrics["models"]
                 if r["model"] == ngram.state["model"])
kn_logp = ngram.state["valid_logprobs"], ngram.state["test_logprobs"]

# %% [markdown]
# The neural models, each with its mixture with the Kneser–Ney model:

# %% tags=["hide-input"]
NEURAL_LMS = [  # (zoo name, label, chapter)
    ("nnlm", "NNLM (Bengio et al.)", 3),
    ("lstm-lm", "LSTM", 6),
    ("gpt-lm", "GPT (decoder-only Transformer)", 11),
]


def mixture_row(label, chapter, artefact, kn_record, kn_logp):
    """The row of ``label`` + Kneser–Ney, its weight tuned on the validation split."""
    neural_valid = artefact.state["valid_logprobs"]
    kn_valid = kn_logp[0][: len(neural_valid)]  # the lines the neural LM validated on
    weight = lm.mixture_weight(neural_valid, kn_valid)
    valid = lm.mix(neural_valid, kn_valid, weight)
    test = lm.mix(artefact.state["test_logprobs"], kn_logp[1], weight)
    record = artefact.metrics
    return {
        **lm_row(f"{label} + Kneser–Ney", chapter, record),
        "test_ppl": lm.perplexity(test),
        "valid_ppl": lm.perplexity(valid),
        "parameters": record["parameters"] + kn_record["parameters"],
        "context": "mixed",
    }


for zoo_name, label, chapter in NEURAL_LMS:
    artefact = zoo.get(zoo_name)
    rows.append(lm_row(label, chapter, artefact.metrics))
    rows.append(mixture_row(label, chapter, artefact, kn_record, kn_logp))

# ELMo's biLM: two LMs in one model, each scored on the same tokens (backward: reversed)
bilm = zoo.metrics("bilm")
for direction in ("forward", "backward"):
    record = {**bilm, "test_ppl": bilm[f"{direction}_test_ppl"],
              "valid_ppl": bilm[f"{direction}_valid_ppl"]}
    reversed_text = ", reversed" if direction == "backward" else ""
    rows.append({**lm_row(f"biLM, {direction} direction", 6, record),
                 "context": "running text" + reversed_text})


# %% tags=["hide-input"]
def chapter_link(number):
    """The chapter's number as a link to its page."""
    return f"{{doc}}`{number} <{CHAPTER_FILES[number]}>`"


def table(rows):
    """The language-model table, best test perplexity first."""
    header = ["model", "ch.", "test PPL", "valid PPL", "parameters", "training tokens",
              clock_label(*(row["clock"] for row in rows)), "context"]
    ordered = sorted(rows, key=lambda row: row["test_ppl"])
    return markdown_table(header, [
        [row["model"], chapter_link(row["chapter"]), f"{row['test_ppl']:,.1f}",
         f"{row['valid_ppl']:,.1f}", f"{row['parameters']:,}",
         f"{row['tokens_seen']:,}", f"{row['seconds']:,.0f}", row["context"]]
        for row in ordered
    ])


table(rows)

# %% tags=["remove-cell"]
assert all(row["test_ppl"] > 0 for row in rows)
by_name = {row["model"]: row for row in rows}
for zoo_name, label, _ in NEURAL_LMS:  # a mixture has both models' parameters
    mixed = by_name[f"{label} + Kneser–Ney"]["parameters"]
    assert mixed == zoo.metrics(zoo_name)["parameters"] + kn_record["parameters"]
for direction in ("forward", "backward"):  # each direction its own validation PPL
    assert by_name[f"biLM, {direction} direction"]["valid_ppl"] == bilm[
        f"{direction}_valid_ppl"]
gpt_context = zoo.metrics("gpt-lm")["context_tokens"]
assert gpt_context[0] < gpt_context[1]  # a sliding window: from half a block to a block
best = min(rows, key=lambda row: row["test_ppl"])
counting = min((r for r in rows if r["chapter"] == 2), key=lambda r: r["test_ppl"])
glue("best_lm", Text(best["model"]))
glue("best_lm_ppl", best["test_ppl"])
glue("kn_name", Text(counting["model"]))
glue("kn_ppl", counting["test_ppl"])
glue("best_vs_kn", 100 * (1 - best["test_ppl"] / counting["test_ppl"]))

# %% [markdown]
# The best model of the table is {glue:text}`best_lm` at a test perplexity of
# {glue:text}`best_lm_ppl:.1f`, {glue:text}`best_vs_kn:.0f`% below the
# {glue:text}`kn_name` model ({glue:text}`kn_ppl:.1f`), the strongest of the counting
# models.
#
# ### Published figures, for scale
#
# These numbers are **published, not ours**: other corpora, other budgets. Penn Treebank
# (PTB) has a 10,000-word vocabulary and about a million training words, so its
# perplexities are not comparable with WikiText-2's; AWD-LSTM is the reference point on
# WikiText-2 itself, with the same vocabulary and test tokens as this book, trained for
# hundreds of epochs on a GPU.
#
# | model | corpus | test PPL | source |
# |---|---|---:|---|
# | Kneser–Ney 5-gram | PTB | 141.2 | {cite:t}`mikolov2012context` |
# | RNN LM | PTB | 124.7 | {cite:t}`mikolov2012context` |
# | LSTM, 2 layers of 650, dropout | PTB | 82.7 | {cite:t}`zaremba2014` |
# | LSTM, 2 layers of 1500, dropout | PTB | 78.4 | {cite:t}`zaremba2014` |
# | AWD-LSTM (33 M parameters) | WikiText-2 | 65.8 | {cite:t}`merity2018` |
# | AWD-LSTM + continuous cache | WikiText-2 | 52.0 | {cite:t}`merity2018` |

# %% [markdown]
# ## The figure of the book: perplexity against compute
#
# Which model is best depends on how much compute it may use. Each neural model's
# validation perplexity was recorded at intervals while it trained; the counting models
# are single points, because fitting them is one pass of counting. Time is the book's
# compute clock: the CPU-seconds of training on one thread, validation excluded, on the
# machine that built this page.

# %% mystnb={"figure": {"caption": "Validation perplexity against training CPU-seconds on one thread (the book's compute clock) for every language model of the book, on a log–log scale. Counting models are points; neural models are curves recorded while they trained.", "name": "fig-frontier"}, "image": {"alt": "A log-log plot of validation perplexity against training seconds. The Kneser-Ney points sit at a few seconds; the neural models' curves start above them and fall as training proceeds."}}
fig, ax = plt.subplots(figsize=(7, 4.2))
counting_rows = [r for r in rows if r["context"] == "lines" and r["parameters"]]
ax.plot([max(r["seconds"], 0.1) for r in counting_rows],
        [r["valid_ppl"] for r in counting_rows], "o", color="0.4",
        label="counting models (unigram, Kneser–Ney 2…5-gram)")
for zoo_name, label, _ in NEURAL_LMS:
    curve = zoo.metrics(zoo_name)["curve"]
    ax.plot([clock_seconds(p) for p in curve], [p["valid_ppl"] for p in curve],
            marker=".", label=label)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel(clock_label(*(row["clock"] for row in rows)))
ax.set_ylabel("validation perplexity")
ax.legend()
plt.show()

# %% [markdown]
# ## Translation
#
# Every translation model of the book has the same `translate(sentences, beam_size)` and
# is scored with sacreBLEU on the same test pairs of Chapter 7's split (BLEU and chrF,
# higher is better; BLEU {glue:text}`bleu_signature`, chrF {glue:text}`chrf_signature`).

# %%
TRANSLATORS = [  # (zoo name, label, chapter)
    ("seq2seq-zh-en", "GRU encoder–decoder", 7),
    ("seq2seq-attention-zh-en", "GRU + attention", 7),
    ("transformer-zh-en", "Transformer", 10),
    ("t5-scratch-zh-en", "T5, from scratch", 11),
    ("t5-zh-en", "T5, pretrained and fine-tuned", 11),
]
translation = {label: zoo.metrics(name) for name, label, _ in TRANSLATORS}

# %% tags=["remove-cell"]
glue("bleu_signature", Text(metrics.signature("bleu")))
glue("chrf_signature", Text(metrics.signature("chrf")))

# %% tags=["hide-input"]
markdown_table(
    ["model", "ch.", "BLEU greedy", "chrF greedy", "BLEU beam 4", "chrF beam 4",
     "parameters", clock_label(*(m["clock"] for m in translation.values()))],
    [[label, chapter_link(chapter), f"{m['bleu_beam1']:.1f}", f"{m['chrf_beam1']:.1f}",
      f"{m['bleu_beam4']:.1f}", f"{m['chrf_beam4']:.1f}", f"{m['parameters']:,}",
      f"{clock_seconds(m['clock']):,.0f}"]
     for (_, label, chapter), m in zip(TRANSLATORS, translation.values(), strict=True)],
)

# %% tags=["remove-cell"]
best_translator = max(translation, key=lambda label: translation[label]["bleu_beam4"])
glue("best_translator", Text(best_translator))
glue("best_bleu", translation[best_translator]["bleu_beam4"])

# %% [markdown]
# The best translator is the {glue:text}`best_translator` at
# {glue:text}`best_bleu:.1f` BLEU with beam search of width 4. The pretrained T5's
# training seconds count its fine-tuning only, not its pretraining on WikiText-2.

# %% [markdown]
# ## Transfer: one labelled task for every representation
#
# Chapter 5 set up the downstream tasks (spam detection on SMS messages, and
# subjectivity) and the learning curve: the same classifier trained on a growing number
# of labelled examples, scored by test macro-F1. Every pretrained representation of the
# book comes back to it. The table gives the score with few labels and with all of them:
# the mean and standard deviation over the seeds each curve was run with, or a single
# run's score and "–" where a curve ran with one seed.

# %% tags=["hide-input"]
TRANSFER_CURVES = [  # (zoo name, chapter)
    ("transfer-curves", 5),
    ("elmo-transfer-curves", 6),
    ("bert-curves", 11),
    ("t5-curves", 11),
]
records = [
    {**record, "chapter": chapter}
    for name, chapter in TRANSFER_CURVES
    for record in zoo.metrics(name)["records"]
]
summary = transfer.summarise(records)
sizes = sorted({record["size"] for record in records})
few = 64 if 64 in sizes else sizes[0]


seeds_of = {}
for r in records:
    seeds_of.setdefault((r["task"], r["variant"]), set()).add(r["seed"])


def transfer_cell(task, variant, size):
    """Mean ± standard deviation of test macro-F1 over the seeds (one seed: ± –)."""
    if (task, variant, size) not in summary:
        return "–"
    mean, std = summary[task, variant, size]
    spread = f"{std:.3f}" if len(seeds_of[task, variant]) > 1 else "–"
    return f"{mean:.3f} ± {spread}"


variants = list(dict.fromkeys((r["task"], r["variant"], r["chapter"]) for r in records))
all_labels = {task: max(r["size"] for r in records if r["task"] == task)
              for task, _, _ in variants}
markdown_table(
    ["task", "representation", "ch.", f"macro-F1, {few} labels", "macro-F1, all labels",
     "seeds"],
    [[task, variant, chapter_link(chapter), transfer_cell(task, variant, few),
      transfer_cell(task, variant, all_labels[task]), len(seeds_of[task, variant])]
     for task, variant, chapter in variants],
)

# %% tags=["remove-cell"]
for task, variant, _ in variants:  # a single run shows no spread, not "± 0.000"
    if len(seeds_of[task, variant]) == 1 and (task, variant, few) in summary:
        assert transfer_cell(task, variant, few).endswith("± –")
# Compare like with like: every curve's run on the first seed, which all of them ran
common_seed = min(set.intersection(*seeds_of.values()))
first_runs = {(r["task"], r["variant"]): r["macro_f1"] for r in records
              if r["seed"] == common_seed and r["size"] == few}
glue("few_labels", few)
glue("common_seed", common_seed)
for task in all_labels:
    best_few = max((v for t, v in first_runs if t == task),
                   key=lambda v, t=task: first_runs[t, v])
    glue(f"{task}_best_few", Text(best_few))
    glue(f"{task}_best_few_f1", first_runs[task, best_few])

# %% [markdown]
# Means over several seeds and single runs are not comparable, so to pick a winner we
# compare every curve's run on the one seed they all share (seed
# {glue:text}`common_seed`, the same labelled examples for every representation). With
# {glue:text}`few_labels` labelled examples the best representation for spam detection
# is then {glue:text}`sms-spam_best_few` ({glue:text}`sms-spam_best_few_f1:.3f`), and
# for subjectivity {glue:text}`subj_best_few` ({glue:text}`subj_best_few_f1:.3f`).

# %% [markdown]
# ## What each model fixed, and what it left
#
# One row per idea, in the order of the book; each links back to its chapter.

# %% tags=["remove-input"]
LINEAGE = [  # (model, chapter, what it fixed, what it left)
    ("n-gram + Kneser–Ney", 2, "a probability for every sentence, from counts alone",
     "no sharing between similar words; a context of n − 1 words"),
    ("neural LM", 3, "similar words share learned vectors",
     "a fixed window; a costly softmax over the vocabulary"),
    ("word2vec", 4, "embeddings from far more text, cheaply",
     "one vector per word, whatever its sense"),
    ("RNN encoder–decoder", 7, "a sequence in, a sequence out",
     "the whole source squeezed into one vector"),
    ("attention", 8, "the decoder looks back at every source position",
     "still a recurrence, one step at a time"),
    ("self-attention", 9, "every position sees every other in one parallel step",
     "blind to word order; quadratic in the length"),
    ("LSTM LM", 6, "a context of any length, carried in a running state",
     "one step at a time; gradients still fade over long distances"),
    ("ELMo (biLM)", 6, "a vector per word in its context, from both directions",
     "two one-way LMs side by side; neither sees the other side while training"),
    ("Transformer", 10, "attention only, order from positions; trains in parallel",
     "lengths beyond those it trained on; a cost quadratic in the length"),
    ("GPT", 11, "one pretrained decoder for generation",
     "reads left to right only"),
    ("BERT", 11, "both directions at once, by masking",
     "does not generate; its masked-LM loss is not a perplexity"),
    ("T5", 11, "every task as text to text with one encoder–decoder",
     "the most parameters and compute of the three for a given width"),
]
markdown_table(
    ["model", "ch.", "what it fixed", "what it left"],
    [[model, chapter_link(ch), fixed, left]
     for model, ch, fixed, left in sorted(LINEAGE, key=lambda row: row[1])],
)

# %% [markdown]
# ## Exercises
#
# 1. Add a row to the language-model table for a mixture of three models (for example
#    the NNLM, Kneser–Ney and a later neural model), with the weights tuned on the
#    validation split by the same expectation–maximisation (`ngram.em_weights`
#    fits the weights of any number of models).
# 2. The figure compares models by CPU-seconds on one machine. Redraw it against
#    the number of training tokens instead. Which conclusions change?
# 3. The published AWD-LSTM reaches 65.8 on the same test tokens. List what it does
#    that this book's models do not (the paper names its regularisers), and estimate
#    from the figure how much compute the book's models would need to get there.
