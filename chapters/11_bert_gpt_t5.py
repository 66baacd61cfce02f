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
# # BERT, GPT and T5
#
# Chapter 10 built one architecture: layers of self-attention and
# feed-forward networks, an encoder, a decoder and attention between them. In 2018–2020
# three papers took that architecture and pretrained it on raw text in three different
# ways. GPT {cite:p}`radford2018` kept only the decoder and predicted the next word.
# BERT {cite:p}`devlin2019` kept only the encoder and filled in hidden words from both
# sides. T5 {cite:p}`raffel2020` kept both halves and turned every task into writing a
# text. This chapter trains all three on WikiText-2 with **the same width, depth and
# number of training tokens**, so that what differs is the objective and the mask. GPT
# joins the perplexity table of every language model so far; BERT and T5 go on
# Chapter 5's learning curve.

# %% tags=["remove-cell"]

import math

import matplotlib.pyplot as plt
import torch
from n2t.book import Text, glue, markdown_table

import n2t.plot
from n2t import bpe, classify, data, lm, metrics, objectives, pretrain, text2text, zoo
from n2t.attention import causal_mask
from n2t.profile import current
from n2t.clock import clock_label, clock_seconds
from n2t.text import wikitext_tokenize
from n2t.train import seed_everything

n2t.plot.use_book_style()
cfg = current().settings("pretraining")
transfer = pretrain.transfer_settings(cfg.block_size, cfg.curve_seeds)

# %% [markdown]
# The settings of this chapter (the `quick` profile trains tiny models on a slice of
# the data; `full` gives the numbers discussed in the text). The three models share
# every size below; the learning curve reuses Chapter 5's sizes and steps.

# %%
markdown_table(["setting", "value"], [
    ("width, heads, layers", f"{cfg.d_model}, {cfg.num_heads}, {cfg.num_layers}"),
    ("block of tokens", cfg.block_size),
    ("training tokens per model", f"{cfg.train_tokens:,}"),
    ("BERT: share of tokens chosen", cfg.mask_rate),
    ("T5: share of tokens dropped, mean span", f"{cfg.noise_density}, {cfg.mean_span}"),
])

# %% [markdown]
# ## One stack, three masks
#
# The three models differ in which positions a token may attend to:
#
# - **GPT**, decoder-only: position $t$ sees positions $1, \dots, t$ (the causal mask
#   of {doc}`Chapter 8 <08_attention>`). It can be trained to predict every next token
#   at once and it can generate, but a word never sees its right context.
# - **BERT**, encoder-only: every position sees every other. Each vector describes a
#   word in its whole sentence, which is what a classifier wants, but the model can no
#   longer be trained to predict the next word: it would see it.
# - **T5**, encoder–decoder: the encoder reads the input with full attention; the
#   decoder writes the output causally and attends to all of the encoder's vectors.
#
# They also differ in what they learn to predict. {numref}`fig-pretraining-objectives`
# shows one training example of each: its input, the positions one token sees, and the
# targets.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "One training example of each model, with this chapter's sizes. GPT reads the text and predicts every next token; each position sees itself and the positions before it. BERT reads the text with the chosen tokens corrupted (here one, replaced by `<mask>`) and predicts only the chosen positions, each position seeing all the others. T5's encoder reads the text with each dropped span replaced by a sentinel (`<X>`, `<Y>` stand for `<extra_id_0>`, `<extra_id_1>`); its decoder, which starts from `<pad>`, writes each sentinel followed by the span it replaced, seeing its own earlier positions and every encoder position. The filled dot is one query; its arcs reach the positions it may attend to. All three are pre-LN stacks with learned positions.", "name": "fig-pretraining-objectives"}, "image": {"alt": "Three panels. GPT: input tokens the cat sat on the mat enter an orange decoder stack in which the third position connects only to the first three; above, the targets cat sat on the mat eos, one per position. BERT: input the cat mask on the mat; the third position connects to all six; only the third position has a target, sat. T5: the encoder reads the cat X the mat with connections to all positions; an arrow labelled z carries every encoder position to the decoder, which reads pad X sat on Y with causal connections and writes the targets X sat on Y eos."}}
import n2t.diagrams

n2t.diagrams.pretraining()

# %% tags=["remove-cell"]
length = 6
gpt_mask = causal_mask(length)
bert_mask = torch.ones(length, length, dtype=torch.bool)
t5_mask = torch.zeros(2 * length, 2 * length, dtype=torch.bool)
t5_mask[:length, :length] = True  # the encoder reads its input both ways
t5_mask[length:, :length] = True  # the decoder reads every encoder vector
t5_mask[length:, length:] = causal_mask(length)  # and its own output causally

# %% mystnb={"figure": {"caption": "Who may attend to whom: GPT's causal mask, BERT's full mask, and T5's encoder (full) and decoder (causal, plus every encoder position). Yellow: may attend.", "name": "fig-three-masks"}, "image": {"alt": "Three grids of yellow and purple cells. GPT's is lower-triangular, BERT's all yellow, T5's twelve-by-twelve grid has a full yellow block for the encoder, a full block where decoder rows meet encoder columns, and a lower-triangular block for the decoder."}}
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
inputs = [f"x{i}" for i in range(1, length + 1)]
outputs = [f"y{i}" for i in range(1, length + 1)]
for ax, (title, mask, names) in zip(
    axes,
    [
        ("GPT (decoder-only)", gpt_mask, inputs),
        ("BERT (encoder-only)", bert_mask, inputs),
        ("T5 (encoder-decoder)", t5_mask, inputs + outputs),
    ],
    strict=True,
):
    n2t.plot.heatmap(
        mask.float(), names, names, xlabel="attends to (key)",
        ylabel="position (query)", title=title, colorbar=False, vmin=0, vmax=1, ax=ax,
    )
fig.tight_layout()

# %% [markdown]
# All three are built from Chapter 10's layers (`n2t.transformer`): GPT from
# `DecoderOnly`, BERT from `EncoderOnly`, T5 from `Encoder` and `Decoder`. Ours are
# pre-LN, with learned positions, and share one size: width $d$, a number of layers
# per stack, and blocks of `block_size` tokens.

# %% tags=["remove-cell"]
glue("d_model", cfg.d_model)
glue("num_layers", cfg.num_layers)
glue("num_heads", cfg.num_heads)
glue("block_size", cfg.block_size)
glue("train_tokens", cfg.train_tokens)

# %% [markdown]
# Here $d =$ {glue:text}`d_model`, {glue:text}`num_layers` layers per stack with
# {glue:text}`num_heads` heads, blocks of {glue:text}`block_size` tokens, and each model
# reads {glue:text}`train_tokens:,` training tokens of WikiText-2, a budget of a few
# CPU minutes per model. The real GPT, BERT and T5 read billions.
#
# They differ from the published models in more than size. A reader who knows the
# papers will find these departures, each made to keep one small model of each kind
# comparable with the others and with the rest of the book:

# %% tags=["hide-input"]
markdown_table(
    ["", "GPT {cite:p}`radford2018`", "BERT {cite:p}`devlin2019`",
     "T5 {cite:p}`raffel2020`", "ours (all three)"],
    [
        ("layer normalisation",
         "after each sub-layer (post-LN; GPT-2 {cite:p}`radford2019` moved it before)",
         "post-LN", "before each sub-layer, scale only (no bias, no mean subtracted)",
         "pre-LN, LayerNorm with bias"),
        ("positions", "learned", "learned",
         "relative: a learned bias per distance bucket in the attention scores",
         "learned absolute (T5: one table for encoder and decoder)"),
        ("tokens", "BPE subwords", "WordPiece subwords", "SentencePiece subwords",
         "WikiText-2's words"),
        ("objective", "next token",
         "masked tokens, and next-sentence prediction (segment embeddings, a `[CLS]` "
         "token); masks drawn once, in advance",
         "dropped spans; `<eos>` ends input and target",
         "the objective alone; BERT's masks drawn afresh for every batch (as RoBERTa "
         "does); no `<eos>` on T5's input"),
        ("output layer", "tied to the token embedding",
         "tied, after a dense + LayerNorm layer", "tied",
         "an adaptive softmax over the words, untied"),
        ("feed-forward activation", "GELU", "GELU", "ReLU", "GELU"),
    ],
)
#
# ## Subword tokens, briefly
#
# The book's models read words, and a word outside the 33,278 WikiText-2 types is
# `<unk>`. GPT-2, BERT and T5 read *subwords* instead: a learned inventory of frequent
# words and word pieces, from which any word can be spelled. The simplest recipe is
# **byte-pair encoding** (BPE) {cite:p}`sennrich2016`: start from characters, and merge
# the most frequent adjacent pair of symbols into a new symbol, again and again.

# %% [markdown]
# ```{literalinclude} ../lib/n2t/bpe.py
# :caption: lib/n2t/bpe.py (train_bpe)
# :start-after: excerpt begins merge loop
# :end-before: excerpt ends
# :language: python
# ```
#
# We learn {glue:text}`bpe_merges:,` merges from the words of WikiText-2's training
# split (a word ends with the marker `</w>`, so that pieces at the end of a word differ
# from pieces inside one):

# %%
train_lines = lm.wikitext2_lines("train", cfg.train_lines)
subwords = bpe.train_bpe((w for line in train_lines for w in line), cfg.bpe_merges)
subwords.merges[:12]

# %% tags=["remove-cell"]
glue("bpe_merges", cfg.bpe_merges)

# %% [markdown]
# The first merges join the commonest word endings and letter pairs; whole frequent
# words follow. A word that training never saw is spelled from pieces, and decoding
# joins them back:

# %%
sentence = ["the", "transformers", "were", "pretrained", "unsupervisedly"]
pieces = subwords.encode(sentence)
assert subwords.decode(pieces) == sentence
pieces

# %% [markdown]
# Encoding and decoding give back every training line exactly:

# %%
assert all(subwords.decode(subwords.encode(line)) == line for line in train_lines)
len(train_lines)

# %% [markdown]
# How many `<unk>`s does that save on Chapter 5's SMS messages? We tokenise
# them as the classifiers do, look each token up in the WikiText-2 vocabulary (in its
# word's most frequent casing, as Chapter 5 does), and spell it with the BPE:

# %%
task = data.text_task("sms-spam")
task_tokens = [
    t for split in (task.train, task.valid, task.test)
    for example in split for t in wikitext_tokenize(example.text)
]
find = classify.lookup(lm.wikitext2_vocab())
word_unks = sum(not find.known(t) for t in task_tokens)
bpe_symbols = subwords.encode(task_tokens)
bpe_unks = sum(bpe.UNK in subwords.encode_word(t) for t in task_tokens)  # tokens
markdown_table(["SMS tokens", "unknown words", "tokens with an unknown character"],
               [(f"{len(task_tokens):,}", f"{word_unks:,}", f"{bpe_unks:,}")])

# %% tags=["remove-cell"]
glue("task_tokens", len(task_tokens))
glue("word_unks", word_unks)
glue("word_unk_share", 100 * word_unks / len(task_tokens))
glue("bpe_unks", bpe_unks)
glue("bpe_unk_share", 100 * bpe_unks / len(task_tokens))
glue("bpe_per_token", len(bpe_symbols) / len(task_tokens))
unseen_chars = sorted({c for t in task_tokens for c in t} - set(subwords.index))
glue("unseen_chars", len(unseen_chars))

# %% [markdown]
# Of the {glue:text}`task_tokens:,` tokens, {glue:text}`word_unks:,`
# ({glue:text}`word_unk_share:.1f` %) are `<unk>` for a word vocabulary: text-speak,
# misspellings and numbers that Wikipedia does not contain. The BPE leaves
# {glue:text}`bpe_unks:,` ({glue:text}`bpe_unk_share:.2f` %), the tokens with one of
# the {glue:text}`unseen_chars` characters it never saw (GPT-2 starts from the 256
# bytes instead of characters, so nothing is ever unknown). The price is length:
# {glue:text}`bpe_per_token:.2f` symbols per token, and probabilities that are no
# longer per word. That is why **this book's models stay word-level**: every
# perplexity in it is per word on the same 245,569 test tokens, and a subword model's
# would not be comparable without converting it. The label "spam" itself is not a
# WikiText-2 word; we come back to that with T5.

# %% [markdown]
# ## GPT: predict the next word
#
# GPT is a language model in the sense of every chapter so far: it factorises
# $P(w_1, \dots, w_T) = \prod_t P(w_t \mid w_{1:t-1})$ and is trained to minimise the
# cross-entropy of the next token, $-\frac{1}{T}\sum_t \ln P(w_t \mid w_{1:t-1})$.
# What is new is the body that turns $w_{1:t-1}$ into a vector: a stack of causal
# self-attention layers, where the NNLM of {doc}`Chapter 3 <03_neural_lm>` had a fixed
# window and a recurrent network a running state. So GPT plugs into the same harness
# (`n2t.lm`): a body `forward(ids, state) -> (hidden, state)` and the shared
# adaptive-softmax head.
#
# A Transformer has a fixed number of positions, here {glue:text}`block_size`. Training
# reads independent blocks of that length, as GPT did. Scoring a long text slides a
# window of one block over it, `stride` tokens at a time: each chunk of `stride` new
# tokens is read together with the tokens before it that fill the window, so that
# every token after the first block is predicted from between `block_size - stride`
# and `block_size - 1` tokens of context (here half a block at least). As a loop:

# %%
def slide(net, ids, block_size, stride):
    """Hidden vectors of every token of ids (1, N), a window of block_size at a time."""
    pieces = [net(ids[:, :block_size])]  # the first block, as in training
    for start in range(block_size, ids.shape[1], stride):
        end = min(start + stride, ids.shape[1])
        window = net(ids[:, end - block_size : end])  # the window ending at `end`
        pieces.append(window[:, -(end - start) :])  # keep only the new tokens
    return torch.cat(pieces, dim=1)


# %% [markdown]
# The library's `GPT` does the same and runs all the windows of a call as one batch.
# On a toy GPT (blocks of 8, a stride of 3) the two agree:

# %%
seed_everything(0)
toy_gpt = lm.NeuralLM(
    pretrain.GPT(100, 16, 2, 2, 32, block_size=8, stride=3, dropout=0.0), 100,
    adaptive=False,
)
toy_ids = torch.randint(0, 100, (1, 20))
toy_gpt.eval()
with torch.no_grad():
    by_loop = slide(toy_gpt.body.net, toy_ids, block_size=8, stride=3)
    assert torch.allclose(toy_gpt.body(toy_ids)[0], by_loop, atol=1e-5)
toy_gpt.context_range  # the fewest and the most tokens a token is read with

# %% [markdown]
# The harness's property test for a language model applies here too: changing a later
# token must never change the vector that predicts an earlier one, in training and in
# the sliding window.

# %%
for mode in ("train", "eval"):
    toy_gpt.train(mode == "train")
    ids = toy_ids[:, :8] if mode == "train" else toy_ids  # training: one block
    with torch.no_grad():
        hidden, _ = toy_gpt.body(ids)
        for t in range(ids.shape[1] - 1):
            changed = ids.clone()
            changed[:, t + 1 :] = (changed[:, t + 1 :] + 1) % 100
            again, _ = toy_gpt.body(changed)
            assert torch.allclose(again[:, : t + 1], hidden[:, : t + 1], atol=1e-5)

# %% [markdown]
# The zoo trains GPT with the harness for {glue:text}`train_tokens:,` tokens and
# scores it on exactly the 245,569 WikiText-2 test tokens:

# %%
gpt_artefact = zoo.get("gpt-lm")
gpt_record = gpt_artefact.metrics
gpt = pretrain.load(gpt_artefact)
vocab = lm.wikitext2_vocab()
assert gpt_record["test_tokens"] == lm.TEST_TOKENS

# %% [markdown]
# ### Against Kneser–Ney and the NNLM
#
# The zoo holds the counting models of {doc}`Chapter 2 <02_ngram_models>` and the NNLM
# of {doc}`Chapter 3 <03_neural_lm>`, scored on the same tokens by the same rules; we
# read their records instead of training them again:

# %%
ngram_records = zoo.metrics("ngram-wikitext2")["models"]
kn_record = max(
    (r for r in ngram_records if r["model"].startswith("Kneser–Ney")),
    key=lambda r: r["order"],
)
nnlm_record = zoo.metrics("nnlm")
assert kn_record["test_tokens"] == nnlm_record["test_tokens"] == lm.TEST_TOKENS

# %% tags=["remove-cell"]
def tokens_per_second(record):
    """Training tokens per second of training (validation excluded)."""
    return record["tokens_seen"] / clock_seconds(record["clock"])


kn_test_ppl, kn_valid_ppl = kn_record["test_ppl"], kn_record["valid_ppl"]
lm_rows = [
    (kn_record["model"], kn_test_ppl, kn_record["parameters"], kn_record["tokens_seen"],
     clock_seconds(kn_record["clock"]), "counts"),
    ("NNLM (Chapter 3)", nnlm_record["test_ppl"], nnlm_record["parameters"],
     nnlm_record["tokens_seen"], clock_seconds(nnlm_record["clock"]),
     tokens_per_second(nnlm_record)),
    ("GPT (this chapter)", gpt_record["test_ppl"], gpt_record["parameters"],
     gpt_record["tokens_seen"], clock_seconds(gpt_record["clock"]),
     tokens_per_second(gpt_record)),
]
clock = clock_label(kn_record["clock"], nnlm_record["clock"], gpt_record["clock"])


def cell(value, fmt):
    return format(value, fmt) if isinstance(value, int | float) else value


# %% tags=["hide-input"]
markdown_table(
    ["model", "test PPL", "parameters", "training tokens", clock, "tokens/s"],
    [
        (name, f"{ppl:.1f}", cell(params, ","), cell(tokens, ","), f"{secs:.0f}",
         cell(speed, ",.0f"))
        for name, ppl, params, tokens, secs, speed in lm_rows
    ],
)

# %% tags=["remove-cell"]
gpt_vs_nnlm = gpt_record["test_ppl"] / nnlm_record["test_ppl"]
gpt_vs_kn = gpt_record["test_ppl"] / kn_test_ppl
glue("gpt_test_ppl", gpt_record["test_ppl"])
glue("nnlm_test_ppl", nnlm_record["test_ppl"])
glue("kn_test_ppl", kn_test_ppl)
glue("kn_name", Text(kn_record["model"]))
glue("gpt_vs_nnlm", Text("lower" if gpt_vs_nnlm < 1 else "higher"))
glue("gpt_vs_kn", Text("lower" if gpt_vs_kn < 1 else "higher"))
gpt_speed, nnlm_speed = tokens_per_second(gpt_record), tokens_per_second(nnlm_record)
glue("gpt_tokens_per_s", gpt_speed)
glue("nnlm_tokens_per_s", nnlm_speed)
glue("gpt_speed_ratio", max(gpt_speed, nnlm_speed) / min(gpt_speed, nnlm_speed))
glue("gpt_faster", Text("faster" if gpt_speed > nnlm_speed else "slower"))
glue("gpt_seconds", clock_seconds(gpt_record["clock"]))
glue("nnlm_seconds", clock_seconds(nnlm_record["clock"]))
glue("nnlm_tokens", nnlm_record["tokens_seen"])
glue("gpt_tokens", gpt_record["tokens_seen"])

# %% [markdown]
# GPT's test perplexity is {glue:text}`gpt_test_ppl:.1f`, {glue:text}`gpt_vs_kn`
# than the {glue:text}`kn_name`'s {glue:text}`kn_test_ppl:.1f` and
# {glue:text}`gpt_vs_nnlm` than the NNLM's {glue:text}`nnlm_test_ppl:.1f`. The
# comparison is not of architectures alone but of budgets too: the profiles gave the
# NNLM {glue:text}`nnlm_tokens:,` training tokens, which took it
# {glue:text}`nnlm_seconds:,.0f` seconds, and GPT {glue:text}`gpt_tokens:,` tokens in
# {glue:text}`gpt_seconds:,.0f` seconds. In tokens per second, GPT was the
# {glue:text}`gpt_faster` of the two: it read {glue:text}`gpt_tokens_per_s:,.0f`
# tokens per second and the NNLM {glue:text}`nnlm_tokens_per_s:,.0f`
# ({glue:text}`gpt_speed_ratio:.1f` times {glue:text}`gpt_faster`). Each of GPT's
# tokens attends to every token of its block in every layer, where the NNLM looks up a
# few word vectors; but GPT does its work in a few large matrix products over a whole
# block, so which of the two costs more per token on a CPU is for the clock to say.
# Plotted against the seconds of training, the two curves show how each model's
# perplexity falls with compute on this machine:

# %% mystnb={"figure": {"caption": "Validation perplexity against training CPU-seconds on one thread, the book's compute clock (log scales), for Chapter 3's NNLM and this chapter's GPT, with Kneser–Ney's validation perplexity for reference (dashed).", "name": "fig-gpt-vs-nnlm"}, "image": {"alt": "A log-log line plot of validation perplexity falling with training seconds, one line for the NNLM and one for GPT, and a dashed horizontal line for Kneser-Ney."}}
series = {
    name: (
        [clock_seconds(point) for point in record["curve"]],
        [point["valid_ppl"] for point in record["curve"]],
    )
    for name, record in (("NNLM", nnlm_record), ("GPT", gpt_record))
}
ax = n2t.plot.curves(series, clock, "validation perplexity", logx=True, logy=True)
ax.axhline(kn_valid_ppl, linestyle="--", color="grey", label="Kneser–Ney")
ax.legend()
plt.show()

# %% [markdown]
# Two things work against GPT at this scale. Its advantage, attention over a long
# context, pays off only once the model has seen enough text to learn what to attend
# to; and its profile gave it fewer training tokens than the NNLM's. The published
# models close the gap with far more data and compute than a book chapter can spend.
# {doc}`Chapter 12 <12_lineage>` puts every language model of the book in one table,
# Chapter 6's LSTM included.
#
# ### Sampling through the key/value cache
#
# To generate, GPT feeds its own output back in. Chapter 10's key/value
# cache keeps every layer's keys and values of the tokens already read, so each new
# token costs one position's work. With the harness's head on top, one step is:

# %% [markdown]
# ```{literalinclude} ../lib/n2t/transformer.py
# :caption: lib/n2t/transformer.py (DecoderOnly.step, which gpt_step calls)
# :start-after: excerpt begins decoder-only step
# :end-before: excerpt ends
# :language: python
# ```

# %% [markdown]
# Greedy decoding through the cache gives exactly what recomputing the whole prefix
# at every step gives:

# %%
prompt = vocab.encode(["The", "game", "was"])
with_cache = pretrain.generate(gpt, prompt, cfg.sample_tokens, greedy=True)
ids = list(prompt)
with torch.no_grad():
    for _ in with_cache:
        logp, _ = gpt.next_token_logprobs(torch.tensor([ids]))
        ids.append(int(logp[0, -1].argmax()))
assert ids[len(prompt) :] == with_cache
" ".join(vocab.decode(prompt + with_cache))

# %% [markdown]
# Greedy text repeats itself. Sampling draws each word from the model's distribution,
# sharpened by a temperature $\tau < 1$ and restricted to the $k$ likeliest words
# (top-$k$), as in {doc}`Chapter 7 <07_seq2seq_attention>`:

# %%
samples = {}
for temperature, top_k in ((1.0, None), (0.8, 40), (0.5, 10)):
    sample = pretrain.generate(
        gpt, prompt, cfg.sample_tokens, temperature=temperature, top_k=top_k, seed=1
    )
    samples[(temperature, top_k)] = " ".join(vocab.decode(prompt + sample))
markdown_table(
    ["τ", "top-k", "sample"], [(t, k or "all", s) for (t, k), s in samples.items()]
)

# %% [markdown]
# The samples show what a few CPU minutes buy: local word order, WikiText's `<unk>`s
# and punctuation, and little meaning. Lower temperatures give safer, more repetitive
# text; higher ones more varied and less grammatical text.

# %% [markdown]
# ## BERT: fill in the blanks
#
# A classifier wants each word's vector to describe the word in its whole sentence.
# Chapter 6's biLM got both sides by training two language models, one
# reading left to right and one right to left, and concatenating them: neither half
# ever sees both sides at once, because a model that sees the word it must predict
# learns nothing. BERT's answer is to hide the words instead of the context. Choose 15 %
# of the tokens; of those, replace 80 % by `<mask>`, 10 % by a random word and leave
# 10 % as they are; and train a bidirectional encoder to predict the original word at
# every chosen position, the **masked language model** (MLM):
#
# $$
# \mathcal{L}_{\text{MLM}}
#   = -\frac{1}{|M|} \sum_{t \in M} \ln P(w_t \mid \tilde{w}_{1:T}),
# $$
#
# where $M$ is the set of chosen positions and $\tilde{w}$ the corrupted text. The
# random and unchanged 20 % keep the model from learning that only `<mask>` positions
# matter: at fine-tuning time there are no masks, and every vector must be useful.

# %% [markdown]
# ```{literalinclude} ../lib/n2t/objectives.py
# :caption: lib/n2t/objectives.py (mask_tokens)
# :start-after: excerpt begins mask tokens
# :end-before: excerpt ends
# :language: python
# ```
#
# On a sentence, with a high rate and a seed for which all three cases occur (a
# `<mask>`, a random word, and a chosen word left as it is):

# %%
words = ["the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "warm"]
ids = torch.tensor([vocab.encode(words)])
bert_vocab = pretrain.model_vocab()
masked, targets = objectives.mask_tokens(
    ids, bert_vocab[objectives.MASK], (2, lm.VOCAB_SIZE), rate=0.5,
    generator=torch.Generator().manual_seed(14),
)
markdown_table(
    ["input", *bert_vocab.decode(masked[0])],
    [["target", *(vocab.itos[t] if t >= 0 else "" for t in targets[0].tolist())]],
)

# %% [markdown]
# On a large draw the proportions come out as specified:

# %%
draw = torch.randint(2, lm.VOCAB_SIZE, (200, 500))
masked, targets = objectives.mask_tokens(
    draw, bert_vocab[objectives.MASK], (2, lm.VOCAB_SIZE),
    generator=torch.Generator().manual_seed(0),
)
chosen = targets != objectives.IGNORE
shares = {
    "chosen": chosen.float().mean().item(),
    "<mask>": (masked[chosen] == bert_vocab[objectives.MASK]).float().mean().item(),
    "kept": (masked[chosen] == draw[chosen]).float().mean().item(),
}
shares["random"] = 1 - shares["<mask>"] - shares["kept"]
assert abs(shares["chosen"] - 0.15) < 0.005 and abs(shares["<mask>"] - 0.8) < 0.02
assert abs(shares["kept"] - 0.1) < 0.015 and abs(shares["random"] - 0.1) < 0.015
markdown_table(["of the tokens", "share"],
               [("chosen", f"{shares['chosen']:.3f}")]
               + [(f"chosen, then {what}", f"{shares[what]:.3f}")
                  for what in ("<mask>", "random", "kept")])

# %% [markdown]
# The zoo pretrains BERT on the same WikiText-2 training text, in blocks of
# {glue:text}`block_size` tokens, with fresh masks for every batch, for the same
# {glue:text}`train_tokens:,` tokens as GPT:

# %%
bert_artefact = zoo.get("bert-mlm")
bert = pretrain.load(bert_artefact)
bert_record = bert_artefact.metrics

# %% tags=["remove-cell"]
glue("bert_mlm_loss", bert_record["valid_mlm_loss"])
glue("bert_mlm_exp", math.exp(bert_record["valid_mlm_loss"]))
glue("bert_mlm_accuracy", 100 * bert_record["valid_mlm_accuracy"])

# %% [markdown]
# On validation blocks BERT's masked-LM loss is {glue:text}`bert_mlm_loss:.2f` nats
# per chosen token, and its top guess is the hidden word
# {glue:text}`bert_mlm_accuracy:.1f` % of the time. Its exponential,
# {glue:text}`bert_mlm_exp:.0f`, looks like a perplexity but **is not one comparable
# with GPT's**: BERT predicts 15 % of the words from both sides with 85 % of the text
# visible (an easier question than GPT's), and the probabilities it gives the words of
# a text do not multiply to a probability of the text. It does not belong in the
# language-model table. What BERT is for is its vectors. Asked to fill a blank:

# %%
@torch.no_grad()
def fill_blank(model, text, k=5):
    """The k likeliest words for the single <mask> in text, with probabilities."""
    tokens = text.split()
    ids = torch.tensor([bert_vocab.encode(tokens)])
    hidden = model.encoder(ids)[0, tokens.index(objectives.MASK)]
    top = model.head.log_prob(hidden[None]).exp()[0].topk(k)
    pairs = zip(top.values.tolist(), top.indices.tolist(), strict=True)
    return [(vocab.itos[i], round(p, 3)) for p, i in pairs]


fill_blank(bert, "the team won the <mask> in 1998 .")

# %% [markdown]
# ### BERT on the downstream task
#
# Chapter 5 measured what pretrained word vectors buy a classifier: the same
# pooled classifier trained on 32 to all of the labelled SMS messages, with random,
# frozen word2vec and fine-tuned word2vec vectors. BERT goes on the same curve through
# the same interface, a *token encoder* `(ids, mask) -> (batch, time, dim)`: frozen
# (its vectors as features) and fine-tuned (its weights trained with the classifier,
# at a learning rate of {glue:text}`bert_lr`). A Transformer's fine-tuning run costs
# far more than a table look-up's, so BERT and T5 run Chapter 5's sizes with its first
# seed only; the comparisons below use that seed for every model, so every model sees
# the same labelled examples.

# %%
bert_records = zoo.metrics("bert-curves")["records"]
chapter5_records = zoo.metrics("transfer-curves")["records"]

# %% tags=["remove-cell"]
first_seed = transfer.seeds[0]
task_name = cfg.curve_tasks[0]
variants = [
    "bag of words", "random", "word2vec frozen", "word2vec fine-tuned",
    *pretrain.BERT_VARIANTS,
]


def curve(records, variant):
    """(sizes, macro-F1) of one variant on the chapter's task, first seed."""
    points = sorted(
        (r["size"], r["macro_f1"]) for r in records
        if (r["variant"], r["seed"], r["task"]) == (variant, first_seed, task_name)
    )
    return [p[0] for p in points], [p[1] for p in points]


# %% mystnb={"figure": {"caption": "Test macro-F1 on SMS spam against the number of labelled training messages (log scale), one line per encoder: Chapter 5's bag of words, random, frozen and fine-tuned word2vec vectors, and BERT frozen and fine-tuned; the same labelled subsets (first seed) for every line.", "name": "fig-bert-curve"}, "image": {"alt": "A line plot of macro-F1 rising with the number of labelled examples for six encoders: bag of words, random vectors, word2vec frozen, word2vec fine-tuned, BERT frozen and BERT fine-tuned."}}
all_records = chapter5_records + bert_records
ax = n2t.plot.curves(
    {variant: curve(all_records, variant) for variant in variants},
    "labelled training examples", "test macro-F1", logx=True,
)

# %% tags=["remove-cell"]
def f1_at(records, variant, size):
    """Macro-F1 of a variant at a size (None: the largest), first seed."""
    sizes, scores = curve(records, variant)
    return scores[-1] if size is None else scores[sizes.index(size)]


# a few labels: the second size of the curve (the first, when there are only two)
few_labels = transfer.sizes[1] if len(transfer.sizes) > 2 else transfer.sizes[0]
for variant in variants:
    key = variant.replace(" ", "_").replace("-", "_")
    glue(f"f1_small_{key}", f1_at(all_records, variant, few_labels))
    glue(f"f1_all_{key}", f1_at(all_records, variant, None))
glue("curve_small", few_labels)
glue("bert_lr", cfg.bert_lr)

# %% [markdown]
# With {glue:text}`curve_small` labelled messages, fine-tuned BERT reaches a macro-F1 of
# {glue:text}`f1_small_BERT_fine_tuned:.3f`, against {glue:text}`f1_small_random:.3f`
# for random vectors and {glue:text}`f1_small_word2vec_fine_tuned:.3f` for fine-tuned
# word2vec; with all of them, {glue:text}`f1_all_BERT_fine_tuned:.3f` against
# {glue:text}`f1_all_word2vec_fine_tuned:.3f` and the bag of words'
# {glue:text}`f1_all_bag_of_words:.3f`. Frozen, BERT's vectors give
# {glue:text}`f1_all_BERT_frozen:.3f`. Two handicaps are ours, not BERT's: ours read
# {glue:text}`train_tokens:,` words, where word2vec read the whole of WikiText-2 several
# times and the real BERT 3.3 billion words {cite:p}`devlin2019`; and a text message's
# words are often `<unk>` to a Wikipedia vocabulary (the subword section counted them),
# which no amount of context can undo.

# %% [markdown]
# ## T5: every task is text to text
#
# T5 keeps the whole encoder–decoder of Chapter 10 and asks one question of every
# task: given an input text, write the output text. Translation is already of that
# form; a classifier writes its label as a word ("spam"); a summariser writes the
# summary. Pretraining takes the same form too. **Span corruption** drops 15 % of the
# tokens in spans of mean length 3, replaces each span in the input by a *sentinel*
# token `<extra_id_k>`, and asks the decoder to write each sentinel followed by the
# words it hid:

# %% [markdown]
# ```{literalinclude} ../lib/n2t/objectives.py
# :caption: lib/n2t/objectives.py (corrupt_spans)
# :start-after: excerpt begins corrupt spans
# :end-before: excerpt ends
# :language: python
# ```

# %%
text = "the cat sat on the mat because it was warm and the dog was not"
text = text.split()
sentinel_ids = [bert_vocab[objectives.sentinel(k)] for k in range(100)]
t5_input, t5_target = objectives.corrupt_spans(
    bert_vocab.encode(text), sentinel_ids, bert_vocab.eos_id, noise_density=0.3,
    generator=torch.Generator().manual_seed(0),
)
" ".join(bert_vocab.decode(t5_input)), " ".join(bert_vocab.decode(t5_target))

# %% [markdown]
# The input and the target together hold the text exactly: putting each span back in
# place of its sentinel restores it. A property test checks this on thousands of
# random texts; here, on every 64-token block of the validation split:

# %%
valid_blocks = objectives.blocks(lm.wikitext2_ids("valid", cfg.valid_lines), 64)
corruption = torch.Generator().manual_seed(0)
for block in valid_blocks.tolist():
    corrupted, target = objectives.corrupt_spans(
        block, sentinel_ids, bert_vocab.eos_id, generator=corruption
    )
    assert objectives.restore_spans(corrupted, target, sentinel_ids) == block
len(valid_blocks)

# %% [markdown]
# Compared with BERT's masks, the target is short (the dropped tokens and one sentinel
# per span) and the input shrinks too, since a whole span becomes one token: T5's
# authors chose span corruption over BERT-style masks partly because it is cheaper per
# training example. The zoo pretrains T5 with the same width, the same depth in each
# of its two stacks, and the same {glue:text}`train_tokens:,` tokens:

# %%
t5_artefact = zoo.get("t5-span")
t5 = pretrain.load(t5_artefact)
t5_record = t5_artefact.metrics

# %% tags=["remove-cell"]
glue("t5_span_loss", t5_record["valid_span_loss"])

# %% [markdown]
# Its validation loss is {glue:text}`t5_span_loss:.2f` nats per target token. Not
# every target token is a hidden word: the mean also runs over the sentinels, which
# come in a fixed order, and the final `<eos>`. Asked to fill the spans of a
# validation block it has never seen, greedily:

# %%
example_block = valid_blocks[3].tolist()
corrupted, target = objectives.corrupt_spans(
    example_block, sentinel_ids, bert_vocab.eos_id,
    generator=torch.Generator().manual_seed(1),
)
source = torch.tensor([corrupted[: cfg.block_size]])
filled = text2text.generate_labels(
    t5, source, torch.ones_like(source, dtype=torch.bool), max_len=len(target)
)[0]
markdown_table(
    ["", "text"],
    [
        ("input", " ".join(bert_vocab.decode(corrupted))),
        ("target", " ".join(bert_vocab.decode(target))),
        ("T5 wrote", " ".join(bert_vocab.decode(filled))),
    ],
)

# %% [markdown]
# ### Classification as writing a word
#
# Fine-tuned on the SMS task, T5 reads the message and writes "ham" or "spam" then
# `<eos>`; its prediction is whatever it writes, and an output that is not exactly one
# label word counts as wrong. Here the word vocabulary bites: "spam" is not one of the
# WikiText-2 words, so the label words the vocabulary lacks were appended to it before
# pretraining (a subword model would have spelled them). T5 fine-tunes all its weights
# at a learning rate of {glue:text}`t2t_lr`, on the same labelled subsets and for the
# same number of steps as the classifiers:

# %%
t5_records = zoo.metrics("t5-curves")["records"]

# %% tags=["remove-cell"]
glue("t2t_lr", cfg.t2t_lr)
glue("bleu_signature", Text(metrics.signature("bleu")))
glue("chrf_signature", Text(metrics.signature("chrf")))
t5_variant = text2text.T5_VARIANT
glue("f1_small_t5", f1_at(t5_records, t5_variant, few_labels))
glue("f1_all_t5", f1_at(t5_records, t5_variant, None))
glue("t5_invalid_small", next(
    r["invalid"] for r in t5_records
    if r["size"] == few_labels and r["seed"] == first_seed
))

# %% mystnb={"figure": {"caption": "Test macro-F1 on SMS spam against the number of labelled messages (log scale): T5 writing the label word, beside fine-tuned BERT and fine-tuned word2vec with a classifier head (first seed, the same subsets).", "name": "fig-t5-curve"}, "image": {"alt": "A line plot of macro-F1 against labelled examples for three models: T5 text-to-text, BERT fine-tuned and word2vec fine-tuned."}}
ax = n2t.plot.curves(
    {
        "T5 text-to-text": curve(t5_records, t5_variant),
        "BERT fine-tuned": curve(all_records, "BERT fine-tuned"),
        "word2vec fine-tuned": curve(all_records, "word2vec fine-tuned"),
    },
    "labelled training examples", "test macro-F1", logx=True,
)

# %% [markdown]
# Writing the label, T5 reaches {glue:text}`f1_small_t5:.3f` with
# {glue:text}`curve_small` labelled messages ({glue:text}`t5_invalid_small` of its test
# outputs were not a label word) and {glue:text}`f1_all_t5:.3f` with all of them. Part
# of its fine-tuning goes into learning to write a label word at all (the invalid
# outputs measure that), where a classification head can only ever choose one of the
# classes.
#
# ### Translation as writing the English
#
# Translation was text to text from the start. T5's authors wrote the task into the
# input as a prefix, "translate English to German: …", and the model writes the German.
# Ours reads "translate Chinese to English :" and then the Chinese characters of
# Chapter 7's pairs, and writes the English. Two things must change first, both in the
# vocabulary. Its words are WikiText-2's, so it has never seen a Chinese character:
# each character of the training pairs gets a new embedding row, initialised at random,
# after the pretrained rows (real T5 has a subword vocabulary that spells its
# languages). And it writes WikiText-2's words, case and all (`I 'm fine .`), which its
# `detokenize_target` turns into the sentence every translator of the book writes:

# %% [markdown]
# ```{literalinclude} ../lib/n2t/text2text.py
# :caption: lib/n2t/text2text.py (T5Translator: new rows for the characters)
# :start-after: excerpt begins t5 translator
# :end-before: excerpt ends
# :language: python
# ```
#
# Everything else is Chapter 10's: the same training pairs, epochs and batches, the
# same test sentences, and the same `translate` with greedy decoding and beam search.
# To see what pretraining contributes, the zoo also trains the same T5 from random
# weights, exactly as the pretrained one is fine-tuned:

# %%
t5_translators = {
    "T5, pretrained": zoo.get("t5-zh-en"),
    "T5, from scratch": zoo.get("t5-scratch-zh-en"),
}
translator = text2text.load_translator(t5_translators["T5, pretrained"])
translator.translate(["我很好。", "汤姆在哪里？"], beam_size=4)

# %% tags=["remove-cell"]
test_pairs = data.cmn_eng_split("test")[: current().settings("transformer").test_pairs]
stored = t5_translators["T5, pretrained"].state["test_translations"]["1"]
assert translator.translate([zh for zh, _ in test_pairs[:20]]) == stored[:20]

# %% [markdown]
# Scored as every translator (sacreBLEU on Chapter 7's test pairs; BLEU
# {glue:text}`bleu_signature`, chrF {glue:text}`chrf_signature`), beside Chapter 10's
# Transformer, which has the same width and depth:

# %%
mt_rows = {"Transformer (Chapter 10)": zoo.metrics("transformer-zh-en")}
mt_rows |= {label: artefact.metrics for label, artefact in t5_translators.items()}
scores = ("bleu_beam1", "bleu_beam4", "chrf_beam4")
markdown_table(
    ["", "BLEU greedy", "BLEU beam 4", "chrF beam 4", "parameters",
     clock_label(*(m["clock"] for m in mt_rows.values()))],
    [
        (label, *(f"{m[key]:.1f}" for key in scores),
         f"{m['parameters']:,}", f"{clock_seconds(m['clock']):,.0f}")
        for label, m in mt_rows.items()
    ],
)

# %% mystnb={"figure": {"caption": "Validation loss (nats per target word) after each epoch of translation training: the T5 fine-tuned from its pretrained weights and the same T5 trained from random weights.", "name": "fig-t5-translation"}, "image": {"alt": "Two falling lines of validation loss against epochs, one for the pretrained T5 and one for the T5 trained from scratch."}}
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for label, artefact in t5_translators.items():
    losses = artefact.state["valid_loss"]
    ax.plot(range(1, len(losses) + 1), losses, marker="o", label=label)
ax.set_xticks(range(1, len(losses) + 1))  # whole epochs
ax.set_xlabel("epoch")
ax.set_ylabel("validation loss (nats per word)")
ax.legend()
plt.show()

# %% tags=["remove-cell"]
pretrained_mt = t5_translators["T5, pretrained"].metrics
scratch_mt = t5_translators["T5, from scratch"].metrics
mt_gain = pretrained_mt["bleu_beam4"] - scratch_mt["bleu_beam4"]
glue("t5_mt_gain", abs(mt_gain))
glue("t5_mt_direction", Text("above" if mt_gain >= 0 else "below"))
glue("t5_mt_bleu", pretrained_mt["bleu_beam4"])
glue("t5_mt_transformer_bleu", mt_rows["Transformer (Chapter 10)"]["bleu_beam4"])
glue("t5_mt_chars", len(t5_translators["T5, pretrained"].state["config"]["chars"]))
glue("t5_mt_unk", 100 * pretrained_mt["target_unk_share"])
glue("t5_mt_greedy_gain", pretrained_mt["bleu_beam1"] - scratch_mt["bleu_beam1"])
final_losses = [a.state["valid_loss"][-1] for a in t5_translators.values()]
glue("t5_mt_loss_pretrained", final_losses[0])
glue("t5_mt_loss_scratch", final_losses[1])
loss_gap = final_losses[0] - final_losses[1]
relation = "below" if loss_gap < 0 else "above"
if abs(loss_gap) < 0.05:
    relation = "about the same as"
glue("t5_mt_loss_relation", Text(relation))
if abs(mt_gain) < 1 and abs(loss_gap) < 0.05:
    verdict = "at this scale, pretraining bought the translator next to nothing"
elif mt_gain > 0 and loss_gap < 0:
    verdict = "pretraining helped the translator, if modestly"
else:
    verdict = "pretraining did not help the translator"
glue("t5_mt_verdict", Text(verdict))
mt_settings = current().settings("transformer")
mt_train = text2text.translation_tokens(
    data.cmn_eng_split("train")[: mt_settings.train_pairs], t5.vocab, t5.block_size)
english_words = sum(len(target) for _, target in mt_train)  # one pass, no <eos>
glue("t5_mt_english_words", english_words)
glue("t5_pretrain_tokens", t5_record["tokens_seen"])
glue("t5_pretrain_ratio", t5_record["tokens_seen"] / english_words)
glue("t5_mt_epochs", mt_settings.epochs)

# %% [markdown]
# The characters took {glue:text}`t5_mt_chars:,` new rows, and
# {glue:text}`t5_mt_unk:.1f` % of the English target words are not WikiText-2 words
# (written as `<unk>`). Fine-tuned from its pretrained weights, T5 reaches
# {glue:text}`t5_mt_bleu:.1f` BLEU with beam search, {glue:text}`t5_mt_gain:.1f` points
# {glue:text}`t5_mt_direction` the same model trained from scratch (greedy:
# {glue:text}`t5_mt_greedy_gain:+.1f`), against {glue:text}`t5_mt_transformer_bleu:.1f`
# for Chapter 10's Transformer. The validation loss after the last epoch is
# {glue:text}`t5_mt_loss_pretrained:.2f` for the pretrained model,
# {glue:text}`t5_mt_loss_relation` the {glue:text}`t5_mt_loss_scratch:.2f` of the one
# from scratch: {glue:text}`t5_mt_verdict`.
#
# Two things limit what pretraining can do here. It can help only one side: the
# decoder had read English, while the encoder learned nothing about Chinese
# characters, whose rows start at random. And the English it read is of another
# kind, and not vastly more than the task itself supplies: pretraining saw
# {glue:text}`t5_pretrain_tokens:,` words of Wikipedia articles, about
# {glue:text}`t5_pretrain_ratio:.0f` times the {glue:text}`t5_mt_english_words:,`
# English words of the training pairs' short, everyday sentences (which translation
# training reads {glue:text}`t5_mt_epochs` times over, with the Chinese to go with
# them). Pretraining pays when the task's own data is small (Chapter 5's learning
# curves, and BERT's above). Raffel et al. saw the same limit at their scale: on
# their largest fine-tuning task, WMT English–French, pretraining gained little over
# training from scratch, because that task's own data is large {cite:p}`raffel2020`.
# The Transformer differs from T5 in its details (sinusoidal positions, label
# smoothing, a learning-rate warm-up, a target vocabulary of the training pairs' own
# words), so the fair test of pretraining is the pair of T5 rows.
#
# ## Which to use when
#
# The three models had the same width, depth and training tokens. What each is good
# for follows from its mask:

# %%
def f1_cells(size):
    """Fine-tuned BERT's and T5's macro-F1 at ``size`` labels (None: all)."""
    return (
        f"{f1_at(all_records, 'BERT fine-tuned', size):.3f}",
        f"{f1_at(t5_records, t5_variant, size):.3f}",
    )


records = (gpt_record, bert_record, t5_record)
markdown_table(
    ["", "GPT", "BERT", "T5"],
    [
        ("stack", "decoder only", "encoder only", "encoder + decoder"),
        ("a token sees", "the tokens before it", "every token",
         "input: all; output: before"),
        ("pretraining", "next token", "masked tokens (15 %)", "dropped spans (15 %)"),
        ("parameters", *(f"{r['parameters']:,}" for r in records)),
        (f"pretraining ({clock_label(*(r['clock'] for r in records))})",
         *(f"{clock_seconds(r['clock']):.0f}" for r in records)),
        ("test PPL (WikiText-2)", f"{gpt_record['test_ppl']:.1f}", "no", "no"),
        (f"macro-F1, {few_labels} labels", "–", *f1_cells(few_labels)),
        ("macro-F1, all labels", "–", *f1_cells(None)),
        ("generates text", "yes", "no", "yes, given an input"),
    ],
)

# %% [markdown]
# - **Generation** (continue a text, sample, score a text's probability): GPT. It is
#   the only one of the three that is a language model, and the only one that goes
#   in the perplexity table. Its key/value cache makes each new token cheap.
# - **Understanding** (classify, tag, find spans in a text you have): BERT. Every
#   vector sees the whole text; a small head on top, fine-tuned, was for years the
#   strongest recipe for these tasks.
# - **Text to text** (translate, summarise, answer, and classification written as a
#   word): T5. One model, one loss and one decoding loop for every task, at the cost
#   of a decoder to run and a vocabulary that must be able to spell every output.
#
# Since 2020 the field has converged on the first: decoder-only models, made large
# enough, do the other two jobs by writing their answers (GPT-3 and its successors).
# At the scale of this book, the table above says which of the three did what best.
#
# ## What it still cannot do
#
# Everything in this chapter is small: a million training words and minutes of CPU
# where the published models used billions of words and weeks of accelerators.
# What carried over is the shape of the results: one architecture, three masks, and
# three objectives, each suited to a use. The whole lineage, from counts to these
# three, is compared on the same yardsticks in the next chapter.
#
# ## Exercises
#
# 1. Score GPT with `stride` equal to `block_size` (no overlap between windows: build
#    the trained model again with `pretrain.GPT(..., stride=block_size)` and load its
#    weights). How much does the test perplexity rise, and why?
# 2. Change BERT's 80/10/10 to 100/0/0 (always `<mask>`). Does the masked-LM loss fall?
#    Does the fine-tuned macro-F1 at all labels change?
# 3. Span corruption with mean span length 1 drops single tokens, like BERT's masks.
#    What still differs from BERT's masking (the random and kept tokens, adjacent
#    spans, and a decoder that writes each answer after the previous ones)? Train T5
#    with it and compare.
# 4. Retrain the BPE with 500 and 8,000 merges. Plot symbols per word on the SMS
#    messages against the number of merges.
# 5. Fine-tune the pretrained T5 and the T5 from scratch on a tenth of Chapter 7's
#    training pairs. Does pretraining help more when the pairs are few?
# 6. Give GPT twice the training tokens. Does it pass the NNLM? Estimate from the
#    figure of perplexity against seconds how long it would need to.
