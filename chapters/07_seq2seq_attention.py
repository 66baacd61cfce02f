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
# # Sequence to sequence, and attention to escape the bottleneck
#
# A language model continues a text. Translation asks for more: read a whole sentence
# in one language, then write a sentence in another, of a different length and word
# order. "我是一个学生。" has seven characters; "I am a student." has five words, and
# nothing lines up one to one. This chapter answers two questions: **how can one
# network map a sequence to a sequence, and why does it need attention to do it
# well?**
#
# The answer that took hold in 2014 was the *encoder–decoder*
# {cite:p}`sutskever2014,cho2014`, after a first one by {cite:t}`kalchbrenner2013`: one
# recurrent network reads the source and compresses it into a vector; a second one
# writes the translation from that vector, word by word, like a language model that
# is told what to say. ({cite:t}`cho2014` still used theirs to score phrase pairs
# inside a statistical system; {cite:t}`sutskever2014` translated with it end to end.)
# We build it, train it on Chinese–English sentence pairs, and
# then *measure* its weak point: everything the decoder knows about the source has to
# pass through one fixed-size vector, and long sentences do not fit. Attention
# {cite:p}`bahdanau2015,luong2015` lets the decoder look back at every source position
# instead. Chapter {doc}`08_attention` then takes the operation apart in general.

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import numpy as np
import torch


import n2t.plot
from n2t import data, decoding, metrics, seq2seq, text, translation, zoo
from n2t.book import Text, glue, markdown_table
from n2t.profile import current
from n2t.clock import clock_label, clock_seconds
from n2t.train import seed_everything

n2t.plot.use_book_style()
seed_everything(0)

# %% [markdown]
# The experiments in this chapter are sized by the profile (`quick` in CI, `full` for
# the numbers discussed in the text). The settings the text refers to:

# %%
cfg = current().settings("seq2seq")


def every_if_none(value):
    return "all" if value is None else f"{value:,}"


markdown_table(["setting", "value"], [
    ("training pairs", every_if_none(cfg.train_pairs)),
    ("test pairs scored", every_if_none(cfg.test_pairs)),
    ("`min_freq`: rarer words become `<unk>`", cfg.min_freq),
    ("embedding and GRU width", f"{cfg.embed_dim} and {cfg.hidden_dim}"),
    ("epochs", cfg.epochs),
    ("beam widths", ", ".join(map(str, cfg.beam_sizes))),
])

# %% [markdown]
# ## The task: Chinese into English
#
# We use the Tatoeba sentence pairs shipped with the book (`data/cmn-eng`): short,
# everyday sentences, each with a Chinese and an English version. `n2t.data` splits
# them once and for all, with a fixed seed, into training, validation and test pairs.
# Tatoeba often holds several translations of one sentence, so pairs that share a
# sentence on either side stay in the same split: no test sentence is seen in training.

# %%
train_pairs = data.cmn_eng_split("train")
valid_pairs = data.cmn_eng_split("valid")
test_pairs = data.cmn_eng_split("test")
len(train_pairs), len(valid_pairs), len(test_pairs)

# %%
assert len(valid_pairs) == len(test_pairs) == 1000
assert len(train_pairs) + 2000 == len(data.cmn_eng_pairs())
test_pairs[500:503]

# %% [markdown]
# Chinese is written without spaces, and a word segmenter would be one more model to
# explain. We split it into characters instead; the vocabulary of a few thousand
# characters covers the corpus. English is split into lower-cased words and
# punctuation. The decoder also needs three special tokens: `<bos>` to start
# writing, `<eos>` to say it is done, and `<pad>` to fill batches.

# %%
seed_zh, seed_en = "我是一个学生。", "I am a student."
text.chinese_tokenize(seed_zh), text.english_tokenize(seed_en)

# %%
zh_lengths = [len(text.chinese_tokenize(zh)) for zh, _ in train_pairs]
en_lengths = [len(text.english_tokenize(en)) for _, en in train_pairs]

# %% mystnb={"figure": {"caption": "Sentence lengths in the training pairs: Chinese in characters, English in words and punctuation marks. Most sentences are short; a long tail reaches past 30 tokens.", "name": "fig-lengths"}, "image": {"alt": "Two overlaid histograms of sentence length. Both peak between 5 and 10 tokens and fall off to the right; the Chinese histogram lies slightly to the right of the English one."}}
bins = np.arange(0, 41)
fig, ax = plt.subplots()
ax.hist(zh_lengths, bins=bins, alpha=0.6, label="Chinese (characters)")
ax.hist(en_lengths, bins=bins, alpha=0.6, label="English (tokens)")
ax.set(xlabel="sentence length (tokens)", ylabel="training pairs")
ax.legend()
plt.show()

# %% tags=["remove-cell"]
glue("n_train", len(train_pairs))
glue("n_test", len(test_pairs))
glue("zh_median", float(np.median(zh_lengths)))
glue("en_median", float(np.median(en_lengths)))
glue("zh_max", max(zh_lengths))

# %% [markdown]
# The {glue:text}`n_train:,` training pairs are short: the median Chinese sentence
# has {glue:text}`zh_median:.0f` characters and the median English one
# {glue:text}`en_median:.0f` tokens, and the longest Chinese sentence has
# {glue:text}`zh_max` characters. That is a small data set by the standards of
# machine translation (systems of the time trained on millions of pairs), so we
# should expect rough translations; what matters here is how the models compare.
#
# ## The encoder–decoder
#
# The **encoder** is a recurrent network over the source characters
# $x_1, \dots, x_S$. We use a *gated recurrent unit* (GRU) {cite:p}`cho2014`, run in
# both directions, so that the state at position $j$ has read the whole sentence:
#
# $$
# \overrightarrow{\mathbf{h}}_j = \operatorname{GRU}(\mathbf{e}(x_j),
#   \overrightarrow{\mathbf{h}}_{j-1}), \qquad
# \overleftarrow{\mathbf{h}}_j = \operatorname{GRU}(\mathbf{e}(x_j),
#   \overleftarrow{\mathbf{h}}_{j+1}), \qquad
# \mathbf{h}_j = [\overrightarrow{\mathbf{h}}_j; \overleftarrow{\mathbf{h}}_j].
# $$
#
# Why a GRU rather than an LSTM? It has three weight blocks instead of four (a quarter
# fewer parameters and multiply–adds at the same width), and one state vector instead
# of two, which is all the decoder and beam search have to carry. It was introduced
# for exactly this model. Whether it costs accuracy depends on the task:
# {cite:t}`chung2014` found the two close on music and speech modelling, while on
# large-scale translation {cite:t}`britz2017` found LSTMs consistently a little
# better. On a CPU budget of minutes we take the cheaper unit.
#
# The **summary** $\mathbf{c} = [\overrightarrow{\mathbf{h}}_S;
# \overleftarrow{\mathbf{h}}_1]$ joins the two directions' final states. The
# **decoder** is a GRU language model over the English words $y_1, \dots, y_T$ whose
# first state is $\mathbf{s}_0 = \tanh(\mathbf{W}_b \mathbf{c})$ and which reads
# $\mathbf{c}$ again at every step {cite:p}`cho2014`:
#
# $$
# \mathbf{s}_t = \operatorname{GRU}([\mathbf{e}(y_{t-1}); \mathbf{c}],
#   \mathbf{s}_{t-1}),
# \qquad
# P(y_t \mid y_{<t}, x) = \operatorname{softmax}\big(\mathbf{W}_o
#   \tanh(\mathbf{W}_c [\mathbf{s}_t; \mathbf{c}])\big).
# $$
#
# {numref}`fig-seq2seq-architecture` draws this model, and beside it the model with
# attention that the second half of the chapter builds.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The two translation models of this chapter, one decoding step $t$ each, as the code computes them. (a) Without attention the source reaches the decoder only through the summary $\\mathbf{c}$, which sets the first state $\\mathbf{s}_0 = \\tanh(\\mathbf{W}_b \\mathbf{c})$, joins the input of every GRU step and joins $\\mathbf{s}_t$ before the output layer (Cho et al. feed it the same way). (b) With attention the decoder still starts from $\\mathbf{s}_0$, but at every step its new state $\\mathbf{s}_t$ queries all encoder states $\\mathbf{h}_j$, and the context $\\mathbf{c}_t$ joins $\\mathbf{s}_t$ before the output layer: Luong's order (GRU step first, then attention, without his input feeding), where Bahdanau fed the context into the GRU step. Sizes: this chapter's settings.", "name": "fig-seq2seq-architecture"}, "image": {"alt": "Two encoder-decoder diagrams, one above the other. In both, source tokens x_1 to x_S pass through an embedding into brown bidirectional GRU states h_1 to h_S, and the summary c joins the last forward and first backward states; on the right the decoder embeds y_(t-1), runs a GRU from s_(t-1) to s_t, applies tanh(W_c[s_t; context]) and a softmax to predict y_t. In (a), without attention, arrows carry c into the decoder's first state, into every GRU input and into the output layer. In (b), with attention, an orange attention box reads every h_j and the query s_t and gives the context c_t to the output layer; c only sets the first state."}}
import n2t.diagrams

n2t.diagrams.seq2seq()

# %% [markdown]
# A GRU step is a few lines. Its *reset gate* $\mathbf{r}$ decides how much of the old
# state enters the candidate $\mathbf{n}$, and its *update gate* $\mathbf{z}$ how much
# of the old state to keep:

# %%
def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step in PyTorch's convention (gates in the order r, z, n)."""
    xr, xz, xn = (w_ih @ x + b_ih).chunk(3)
    hr, hz, hn = (w_hh @ h + b_hh).chunk(3)
    r = torch.sigmoid(xr + hr)  # reset gate
    z = torch.sigmoid(xz + hz)  # update gate
    n = torch.tanh(xn + r * hn)  # candidate state
    return (1 - z) * n + z * h


# %% [markdown]
# The library's encoder runs PyTorch's `nn.GRU` in both directions over a padded
# batch. Padding is *packed away*, so a short sentence in a batch of long ones gets
# the same states as alone:
#
# ```{literalinclude} ../lib/n2t/seq2seq.py
# :start-after: excerpt begins Encoder.forward
# :end-before: excerpt ends
# :dedent:
# :caption: lib/n2t/seq2seq.py — Encoder.forward
# ```
#
# We check it against our `gru_step`, run forwards and backwards over the seed
# sentence, with the weights of a freshly initialised encoder:

# %%
tokens = translation.tokenized_pairs(train_pairs)
src_vocab, tgt_vocab = translation.build_vocabs(tokens, min_freq=cfg.min_freq)
encoder = seq2seq.Encoder(len(src_vocab), 16, 8, src_vocab.pad_id).eval()
src = torch.tensor([src_vocab.encode(text.chinese_tokenize(seed_zh))])
with torch.no_grad():
    states, summary = encoder(src, torch.tensor([src.shape[1]]))
states.shape, summary.shape

# %%
def encode_by_hand(encoder, ids):
    """The bidirectional GRU of ``encoder`` over one sentence, one step at a time."""
    rnn, x = encoder.rnn, encoder.embed(ids)
    forward_weights = [getattr(rnn, f"{n}_l0") for n in
                       ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    backward_weights = [getattr(rnn, f"{n}_l0_reverse") for n in
                        ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    h, forward = torch.zeros(rnn.hidden_size), []
    for x_j in x:
        h = gru_step(x_j, h, *forward_weights)
        forward.append(h)
    h, backward = torch.zeros(rnn.hidden_size), []
    for x_j in x.flip(0):
        h = gru_step(x_j, h, *backward_weights)
        backward.insert(0, h)
    return torch.cat([torch.stack(forward), torch.stack(backward)], dim=-1)


with torch.no_grad():
    by_hand = encode_by_hand(encoder, src[0])
assert torch.allclose(by_hand, states[0], atol=1e-6)
assert torch.allclose(summary[0], torch.cat([by_hand[-1, :8], by_hand[0, 8:]]))

# %% [markdown]
# The decoder is one method for both models of this chapter. Without attention it
# concatenates the summary to every input; with attention (below) it asks the
# attention module for a context vector at every step instead:
#
# ```{literalinclude} ../lib/n2t/seq2seq.py
# :pyobject: Seq2Seq.decode
# :caption: lib/n2t/seq2seq.py — the decoder
# ```
#
# ## Teacher forcing and autoregressive decoding
#
# The decoder is trained like a language model, by minimising the cross-entropy of
# each reference word given the source and the *reference* words before it. Feeding
# the true previous word, whatever the model would have said, is called **teacher
# forcing**; it lets the GRU run over the whole target sentence at once. At inference
# there is no reference: the model is **autoregressive** and reads its own previous
# output.
#
# Both translation models of this chapter come from the zoo (`n2t.zoo`), which trains
# them with the settings above the first time and loads them from its cache after:
# the encoder–decoder without attention and the one with additive attention.

# %%
plain_artefact = zoo.get("seq2seq-zh-en")
attention_artefact = zoo.get("seq2seq-attention-zh-en")
plain = seq2seq.model_from_state(plain_artefact.state)
attentive = seq2seq.model_from_state(attention_artefact.state)
models = {"no attention": plain, "attention": attentive}
artefacts = {"no attention": plain_artefact, "attention": attention_artefact}

# %% [markdown]
# Here are the two modes side by side on one test sentence, for the model without
# attention. Under teacher forcing, each row's prediction is made after reading the
# reference words; in autoregressive decoding after reading the model's own words:

# %%
def teacher_forced(model, source, reference):
    """The model's best next word at every step while it reads the reference."""
    ids = torch.tensor([model.src_vocab.encode(text.chinese_tokenize(source))])
    words = text.english_tokenize(reference)
    tgt_in = torch.tensor([[model.tgt_vocab.bos_id, *model.tgt_vocab.encode(words)]])
    with torch.no_grad():
        state = model.start(ids, torch.tensor([ids.shape[1]]))
        logits, _, _ = model.decode(tgt_in, state)
    return ["<bos>", *words], model.tgt_vocab.decode(logits[0].argmax(-1))


def free_running(model, source):
    """Greedy decoding (``translate``'s): the model reads its own previous word."""
    words = model.translate_tokens([source])[0]
    cap = model.max_output_length(len(model.tokenize_source(source)))
    # <eos> was predicted unless the output ran to its length cap
    predicted = [*words, "<eos>"] if len(words) < cap else words
    return ["<bos>", *predicted[:-1]], predicted


# %% tags=["hide-input"]
def code(token):
    """A token as Markdown code, so that <eos> is shown, not eaten by the browser."""
    return f"`{token}`" if token else ""


# %%
example_zh, example_en = test_pairs[500]
forced_in, forced_out = teacher_forced(plain, example_zh, example_en)
free_in, free_out = free_running(plain, example_zh)
steps = max(len(forced_in), len(free_in))
pad = [""] * steps
markdown_table(
    ["step", "teacher forcing reads", "predicts", "autoregressive reads", "predicts"],
    [(t + 1, code((forced_in + pad)[t]), code((forced_out + pad)[t]),
      code((free_in + pad)[t]), code((free_out + pad)[t])) for t in range(steps)],
)

# %% [markdown]
# With teacher forcing every prediction starts from a correct prefix, so a wrong word
# costs one step. In autoregressive decoding a wrong word becomes part of the input,
# and every later step is conditioned on a prefix the model never saw in training.
# This mismatch between training and use is called **exposure bias**
# {cite:p}`ranzato2016`; scheduled sampling {cite:p}`bengio2015` mixes the model's
# own words into training to reduce it. Both modes must agree when the model reads
# the same words, which is a useful check on the code: step-by-step decoding gives
# the same distributions as the parallel teacher-forced pass.

# %%
for model in models.values():
    batch = text.pair_batch(translation.tokenized_pairs(test_pairs[:8]),
                            model.src_vocab, model.tgt_vocab)
    with torch.no_grad():
        parallel = model(batch.src, batch.src_lengths, batch.tgt[:, :-1])
        state = model.start(batch.src, batch.src_lengths)
        for t in range(batch.tgt.shape[1] - 1):
            log_probs, state = model.step(batch.tgt[:, t], state)
            assert torch.allclose(log_probs, parallel[:, t].log_softmax(-1), atol=1e-5)

# %% [markdown]
# ## Training both models
#
# Both models share the encoder, the sizes and the training recipe (Adam, gradient
# clipping, a fixed number of epochs over the training pairs, batches of sentences
# of similar length); they differ only in how the decoder sees the source.

# %%
def training_row(name):
    m = artefacts[name].metrics
    return (name, f"{m['parameters']:,}", f"{m['steps']:,}", f"{m['target_tokens']:,}",
            f"{clock_seconds(m['clock']):.0f}")


clock = clock_label(*(artefact.metrics["clock"] for artefact in artefacts.values()))
markdown_table(["model", "parameters", "steps", "target tokens", clock],
               [training_row(name) for name in models])

# %% [markdown]
# The seconds are the book's compute clock: the processor time of training alone
# (validation excluded) on one thread, so that models trained side by side or one
# after the other read the same; they still depend on the machine.

# %% mystnb={"figure": {"caption": "Training loss (per target token, averaged over 50 steps) and validation loss after every epoch, for both models.", "name": "fig-loss"}, "image": {"alt": "Training-loss curves of the two models against the training step, with the validation loss of each model marked once per epoch."}}
fig, ax = plt.subplots()
for (name, artefact), colour in zip(artefacts.items(), n2t.plot.PALETTE, strict=False):
    loss = np.array(artefact.state["step_loss"])
    window = min(50, len(loss))
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    ax.plot(np.arange(window, len(loss) + 1), smooth, color=colour,
            label=f"{name}: training")
    per_epoch = len(loss) / len(artefact.state["valid_loss"])
    epochs_end = per_epoch * np.arange(1, len(artefact.state["valid_loss"]) + 1)
    ax.plot(epochs_end, artefact.state["valid_loss"], "o--", color=colour,
            label=f"{name}: validation")
ax.set(xlabel="training step", ylabel="cross-entropy per token (nats)")
ax.legend()
plt.show()

# %% tags=["remove-cell"]
glue("bleu_signature", Text(metrics.signature("bleu")))
glue("chrf_signature", Text(metrics.signature("chrf")))

# %% [markdown]
# ## Scoring translations: BLEU and chrF
#
# A translation can be right in many ways, so we compare it with a human reference by
# overlap. **BLEU** {cite:p}`papineni2002` takes the geometric mean of the n-gram
# precisions ($n = 1 \dots 4$) of the system's output against the references, pooled
# over the test corpus, times a brevity penalty for outputs shorter than the
# references. **chrF** {cite:p}`popovic2015` is an F-score over character n-grams; it
# gives partial credit for a right word with a wrong ending. Both depend on
# tokenisation, so we never compute them by hand: `n2t.metrics` calls **sacreBLEU**
# {cite:p}`post2018`, which tokenises detokenised text itself, and whose *signature*
# says exactly how a score was computed. Our models write lower case, so our scores
# are case-insensitive, unlike the cased BLEU of most papers. The book's BLEU and chrF
# are:
#
# - BLEU: {glue:text}`bleu_signature`
# - chrF: {glue:text}`chrf_signature`
#
# ```{literalinclude} ../lib/n2t/metrics.py
# :pyobject: bleu
# :caption: lib/n2t/metrics.py
# ```
#
# The models' words therefore go through a detokenizer first (`translation.detokenize`,
# the inverse of `english_tokenize`), which is what `translate` returns:

# %%
translation.detokenize(["i'm", "sure", "it", "costs", "$", "1", ",", "000", "."])

# %% [markdown]
# Every translation model in the book exposes one method,
# `translate(sentences, beam_size=1)`: raw Chinese in, English out. It detokenises what
# `translate_tokens` wrote, whose core is shared by all of them (the Transformer of a
# later chapter included). Each batch holds sources whose outputs have the same length
# cap, so a sentence translates alone as it does among the test set, and the step
# function is wrapped so that it never emits `<pad>` or `<bos>`:
#
# ```{literalinclude} ../lib/n2t/translation.py
# :start-after: excerpt begins translate
# :end-before: excerpt ends
# :caption: lib/n2t/translation.py — Translator.translate_tokens
# ```

# %%
markdown_table(["model", f"translation of {seed_zh}"],
               [(name, m.translate([seed_zh])[0]) for name, m in models.items()])

# %% [markdown]
# The zoo decoded the test set when it trained each model, with every beam width of
# the profile, and stored the translations. We score them here:

# %%
test_sources = [zh for zh, _ in test_pairs[: cfg.test_pairs]]
test_references = [en for _, en in test_pairs[: cfg.test_pairs]]
translations = {name: a.state["test_translations"] for name, a in artefacts.items()}
scores = {
    (name, beam): (metrics.bleu(hyps, test_references),
                   metrics.chrf(hyps, test_references))
    for name, by_beam in translations.items() for beam, hyps in by_beam.items()
}
markdown_table(
    ["model", "BLEU (greedy)", "chrF (greedy)", "BLEU (beam 4)", "chrF (beam 4)"],
    [(name, *(f"{v:.1f}" for v in (*scores[name, "1"], *scores[name, "4"])))
     for name in models],
)

# %% tags=["remove-cell"]
for name, artefact in artefacts.items():  # the zoo stored the same scores
    for beam in translations[name]:
        assert scores[name, beam][0] == artefact.metrics[f"bleu_beam{beam}"]
        assert scores[name, beam][1] == artefact.metrics[f"chrf_beam{beam}"]
# Translating again gives what the zoo stored (up to a rare tie broken differently when
# the arithmetic differs in the last bits, e.g. trained on a GPU, decoded on a CPU).
again = attentive.translate(test_sources[:20])
stored = translations["attention"]["1"]
same = sum(new == old for new, old in zip(again, stored, strict=False))
assert same >= 18, (same, again)

# %% tags=["remove-cell"]
for name, key in (("no attention", "plain"), ("attention", "attn")):
    glue(f"bleu_{key}_greedy", scores[name, "1"][0])
    glue(f"chrf_{key}_greedy", scores[name, "1"][1])
    glue(f"bleu_{key}_beam4", scores[name, "4"][0])
    glue(f"chrf_{key}_beam4", scores[name, "4"][1])
glue("n_scored", len(test_references))
greedy_attention = translations["attention"]["1"]
glue("unk_outputs", sum("<unk>" in t for t in greedy_attention))
glue("unk_tokens", sum(t.count("<unk>") for t in greedy_attention))
without_unk = [" ".join(t.replace("<unk>", " ").split()) for t in greedy_attention]
glue("bleu_attn_no_unk", metrics.bleu(without_unk, test_references))

# %% [markdown]
# On the {glue:text}`n_scored:,` test pairs, greedy decoding scores BLEU
# {glue:text}`bleu_plain_greedy:.1f` without attention and
# {glue:text}`bleu_attn_greedy:.1f` with it (chrF {glue:text}`chrf_plain_greedy:.1f`
# and {glue:text}`chrf_attn_greedy:.1f`). Do not hold these numbers against published
# ones: those come from other test sets and from systems trained on millions of
# sentence pairs for days, where ours saw a few ten thousand short sentences for
# minutes on a CPU. What they are good for is comparing the models of this book,
# which are all scored on this same test set in this same way.
#
# A model may write `<unk>`: the English vocabulary maps every word seen fewer than
# `min_freq` times in training to it, so the model learns to put `<unk>` where a rare
# word goes. With attention, {glue:text}`unk_outputs` of the greedy test translations
# hold one or more ({glue:text}`unk_tokens` in all). Each counts as one wrong word
# (`n2t.metrics` keeps sacreBLEU from splitting it into `<`, `unk` and `>`); dropped
# from the outputs instead, BLEU would read {glue:text}`bleu_attn_no_unk:.1f` rather
# than {glue:text}`bleu_attn_greedy:.1f`.
#
# ## The bottleneck, measured
#
# Without attention, the decoder sees the source only through the summary
# $\mathbf{c}$, a vector of fixed size whatever the length of the sentence. If that is
# a bottleneck, translations should get worse, relative to the model with attention,
# as sentences get longer. We score the test sentences in buckets of source length:

# %%
source_lengths = [len(text.chinese_tokenize(zh)) for zh in test_sources]
length_edges = [1, 6, 9, 12, 15]
by_length = {
    name: metrics.bleu_by_length(translations[name]["1"], test_references,
                                 source_lengths, length_edges)
    for name in models
}
markdown_table(
    ["source characters", "sentences", "BLEU, no attention", "BLEU, attention"],
    [(label, n, f"{plain_bleu:.1f}", f"{attn_bleu:.1f}")
     for (label, n, plain_bleu), (_, _, attn_bleu)
     in zip(by_length["no attention"], by_length["attention"], strict=True)],
)

# %% mystnb={"figure": {"caption": "Test BLEU (greedy decoding) in buckets of source length, for the encoder–decoder without attention (one summary vector) and with attention.", "name": "fig-bleu-length"}, "image": {"alt": "Two lines of test BLEU, one per model, against buckets of source length from the shortest to the longest sentences."}}
ax = n2t.plot.curves(
    {name: (range(len(rows)), [b for _, _, b in rows])
     for name, rows in by_length.items()},
    xlabel="source length (characters)", ylabel="BLEU (greedy)",
)
ax.set_xticks(range(len(by_length["attention"])),
              [label for label, _, _ in by_length["attention"]])
plt.show()

# %% tags=["remove-cell"]
glue("short_label", Text(by_length["attention"][0][0]))
glue("long_label", Text(by_length["attention"][-1][0]))
glue("plain_short", by_length["no attention"][0][2])
glue("plain_long", by_length["no attention"][-1][2])
glue("attn_short", by_length["attention"][0][2])
glue("attn_long", by_length["attention"][-1][2])
glue("gap_short", by_length["attention"][0][2] - by_length["no attention"][0][2])
glue("gap_long", by_length["attention"][-1][2] - by_length["no attention"][-1][2])
glue("n_long", by_length["attention"][-1][1])

# %% [markdown]
# From the shortest bucket ({glue:text}`short_label` characters) to the longest
# ({glue:text}`long_label`), BLEU goes from {glue:text}`plain_short:.1f` to
# {glue:text}`plain_long:.1f` without attention and from {glue:text}`attn_short:.1f`
# to {glue:text}`attn_long:.1f` with it: the difference (attention minus no
# attention) is {glue:text}`gap_short:+.1f` BLEU on the shortest sentences and
# {glue:text}`gap_long:+.1f` on the longest.
# Longer sentences are harder for both models (they are rarer in training and have
# more ways to go wrong), so the question is whether the gap between the two widens
# with length, as it would if the summary vector were the limit. Keep two things in
# mind when reading the figure: the longest bucket holds only
# {glue:text}`n_long` sentences, so its BLEU is noisy, and Tatoeba's sentences are
# short — {cite:t}`bahdanau2015` saw the encoder–decoder without attention collapse
# on sentences of 30 words and more, far longer than anything here.
#
# ## Attention: let the decoder look back
#
# Instead of one summary, give the decoder all encoder states
# $\mathbf{h}_1, \dots, \mathbf{h}_S$ and let it choose, at every step, which to use.
# In the words of Chapter {doc}`08_attention`: the decoder state $\mathbf{s}_t$ is a
# **query**; the encoder states are the **keys** and the **values**. A score
# compares the query with every key, a softmax turns the scores into weights
# $\alpha_{tj}$, and the **context vector** is the weighted average of the values:
#
# $$
# \alpha_{tj} = \frac{\exp \operatorname{score}(\mathbf{s}_t, \mathbf{h}_j)}
#   {\sum_{j'} \exp \operatorname{score}(\mathbf{s}_t, \mathbf{h}_{j'})},
# \qquad
# \mathbf{c}_t = \sum_j \alpha_{tj} \mathbf{h}_j,
# $$
#
# and the context joins the decoder state before the output layer
# ({numref}`fig-seq2seq-architecture`, b):
#
# $$
# P(y_t \mid y_{<t}, x) = \operatorname{softmax}\big(\mathbf{W}_o
#   \tanh(\mathbf{W}_c [\mathbf{s}_t; \mathbf{c}_t])\big).
# $$
#
# Padded source positions get score $-\infty$, hence weight zero. Two scores are
# classic. **Additive** attention {cite:p}`bahdanau2015` compares query and key with
# a small network,
# $\operatorname{score}(\mathbf{s}, \mathbf{h}) = \mathbf{v}^\top
# \tanh(\mathbf{W}_q \mathbf{s} + \mathbf{W}_k \mathbf{h})$.
# **Multiplicative** attention takes Luong's *general* score
# $\mathbf{s}^\top \mathbf{W}_a \mathbf{h}$ {cite:p}`luong2015` (his *dot* score
# $\mathbf{s}^\top \mathbf{h}$ has no matrix at all), which our `DotProductAttention`
# factors as $(\mathbf{W}_q \mathbf{s}) \cdot (\mathbf{W}_k \mathbf{h})$ and, unlike
# Luong, divides by $\sqrt{d}$ as in Chapter {doc}`08_attention`. We follow Luong's
# order of operations (the GRU step first, then attention with the new state as
# query), which lets training run the GRU over the whole target at once; Bahdanau fed
# the context into the GRU step instead. Luong's models also fed each step's
# attentional state into the next step's input (*input feeding*), so that the decoder
# knows where it looked before; that would bring back the step-by-step loop, so our
# decoder drops it for speed (exercise 6 puts it back).
#
# ```{literalinclude} ../lib/n2t/seq2seq.py
# :pyobject: AdditiveAttention.forward
# :caption: lib/n2t/seq2seq.py — additive attention
# ```
#
# ```{literalinclude} ../lib/n2t/seq2seq.py
# :pyobject: DotProductAttention.forward
# :caption: lib/n2t/seq2seq.py — dot-product attention, with n2t.attention
# ```
#
# We recompute the trained model's weights for the seed sentence by hand: run the
# decoder GRU over the target words, then score every decoder state $\mathbf{s}_t$
# against every encoder state $\mathbf{h}_j$ one pair at a time with the additive
# formula, mask nothing (one sentence has no padding) and take the softmax of each row.

# %%
seed_translation = attentive.translate_tokens([seed_zh])[0]  # its tokens, as written
weights = attentive.alignment(seed_zh, seed_translation)  # (T, S)
ids = torch.tensor([attentive.src_vocab.encode(text.chinese_tokenize(seed_zh))])
tgt_in = torch.tensor([[attentive.tgt_vocab.bos_id,
                        *attentive.tgt_vocab.encode(seed_translation)]])
att = attentive.attention
with torch.no_grad():
    state = attentive.start(ids, torch.tensor([ids.shape[1]]))
    queries, _ = attentive.rnn(attentive.embed(tgt_in), state["hidden"][None])
    scores_by_hand = torch.tensor([
        [att.v(torch.tanh(att.w_q(s_t) + att.w_k(h_j))).item()  # vᵀtanh(W_q s + W_k h)
         for h_j in state["states"][0]]
        for s_t in queries[0]
    ])  # (T, S)
    weights_by_hand = scores_by_hand.softmax(-1)
assert torch.allclose(weights_by_hand, weights, atol=1e-5)
assert torch.allclose(weights.sum(-1), torch.ones(len(weights)))
weights.shape

# %% [markdown]
# Each row of these weights is a soft **alignment**: for one English word, how much
# the decoder drew on each Chinese character while writing it. Here they are for the
# seed sentence and a few test sentences, each with the model's own translation:

# %%
def alignment_plot(model, source, ax):
    """Heatmap of the attention weights while the model writes its translation."""
    words = model.translate_tokens([source])[0]  # the tokens it wrote, <unk> included
    weights = model.alignment(source, words)
    n2t.plot.heatmap(weights, xlabels=text.chinese_tokenize(source),
                     ylabels=[*words, "<eos>"], xlabel="source character",
                     ylabel="output word", colorbar=False, vmin=0, vmax=1, ax=ax)
    ax.tick_params(axis="x", labelrotation=0)  # characters read upright


# %% mystnb={"figure": {"caption": "Attention weights of the model with additive attention while it writes its own translation (rows: English output words; columns: Chinese source characters; bright = high weight). Left: the seed sentence; the others are from the test set.", "name": "fig-alignment"}, "image": {"alt": "Three heatmaps with Chinese characters along the bottom and the model's English output words down the side; the bright cells of each row show which characters the model drew on while writing that word."}}
aligned_sources = [seed_zh, test_sources[min(60, len(test_sources) - 1)],
                   test_sources[len(test_sources) // 2]]
fig, axes = plt.subplots(1, 3, figsize=(11, 4))
for source, ax in zip(aligned_sources, axes, strict=True):
    alignment_plot(attentive, source, ax)
plt.show()

# %% [markdown]
# Nobody told the model which character corresponds to which word; whatever
# alignment the heatmaps show, it learnt only because looking at the right place
# lowers the loss. Where the weights form a rough diagonal, characters read in order
# give words in order; where Chinese and English order differ, the bright cells jump.
# Attention weights are a soft, partial picture, though: the encoder states are
# bidirectional, so each of them already carries some of the whole sentence.
#
# ## Decoding: greedy, beam search and sampling
#
# The model gives a distribution over the next word; turning distributions into a
# sentence is a search problem of its own, and `n2t.decoding` holds the options. They
# take a *step function* `step(tokens, state) -> (log_probs, state)` instead of a
# particular model, so the Transformer of a later chapter reuses them unchanged.
#
# **Greedy decoding** takes the most probable word at every step:
#
# ```{literalinclude} ../lib/n2t/decoding.py
# :pyobject: greedy
# :caption: lib/n2t/decoding.py
# ```
#
# A greedy choice can lead into a prefix with no good continuation. **Beam search**
# keeps the $k$ best prefixes at every step, extends each by every word, and keeps the
# $k$ best extensions. Sums of log-probabilities favour short outputs (every word
# costs), so finished hypotheses are ranked by their log-probability divided by their
# length, a *length normalisation* (GNMT used a smoothed variant
# {cite:p}`wu2016`). The loop, batched over sentences:
#
# ```{literalinclude} ../lib/n2t/decoding.py
# :start-after: BEGIN beam search loop
# :end-before: END beam search loop
# :caption: lib/n2t/decoding.py — beam_search
# ```
#
# A beam of width 1 keeps one prefix and is exactly greedy decoding:

# %%
vocab = attentive.tgt_vocab
src, lengths = text.pad_sequences(
    [attentive.src_vocab.encode(text.chinese_tokenize(s)) for s in test_sources[:50]],
    attentive.src_vocab.pad_id)
with torch.no_grad():
    greedy_words = decoding.greedy(attentive.step, attentive.start(src, lengths),
                                   vocab.bos_id, vocab.eos_id, max_len=40)
    beams = decoding.beam_search(attentive.step, attentive.start(src, lengths),
                                 vocab.bos_id, vocab.eos_id, max_len=40, beam_size=1)
assert decoding.best_tokens(beams) == greedy_words

# %% [markdown]
# How much does a wider beam help? The zoo stored the test translations for beam
# widths 1, 2, 4 and 8:

# %%
beam_widths = [int(b) for b in translations["attention"]]
markdown_table(
    ["beam width", *(f"BLEU, {name}" for name in models)],
    [(b, *(f"{scores[name, str(b)][0]:.1f}" for name in models)) for b in beam_widths],
)

# %% tags=["remove-cell"]
glue("bleu_attn_beam8", scores["attention", str(beam_widths[-1])][0])
glue("bleu_plain_beam8", scores["no attention", str(beam_widths[-1])][0])

# %% [markdown]
# With attention, BLEU goes from {glue:text}`bleu_attn_greedy:.1f` (greedy) to
# {glue:text}`bleu_attn_beam4:.1f` with a beam of 4 and
# {glue:text}`bleu_attn_beam8:.1f` with 8; without attention from
# {glue:text}`bleu_plain_greedy:.1f` to {glue:text}`bleu_plain_beam4:.1f` and
# {glue:text}`bleu_plain_beam8:.1f`. Small beams usually help a little and wide ones
# stop helping or even hurt: the model's most probable sentence is not always the best
# translation {cite:p}`koehn2017`.
#
# **Sampling** draws each word from the distribution instead of maximising it. Dividing
# the scores by a *temperature* $\tau$ before the softmax sharpens the distribution
# ($\tau < 1$, towards greedy) or flattens it ($\tau > 1$); keeping only the $k$ most
# probable words (*top-k* sampling {cite:p}`fan2018`) cuts off the unreliable tail,
# as does keeping the smallest set of words whose probabilities add up to $p$
# (*nucleus* or *top-p* sampling {cite:p}`holtzman2020`).
# Sampling is how language models write varied text; for translation, where one
# faithful answer is wanted, it mainly shows what else the model finds plausible:

# %%
generator = torch.Generator().manual_seed(0)
ids = torch.tensor([attentive.src_vocab.encode(text.chinese_tokenize(seed_zh))])
samples = []
for temperature in (0.5, 1.0, 1.5):
    for _ in range(3):
        state = attentive.start(ids, torch.tensor([ids.shape[1]]))
        words = decoding.sample(attentive.step, state, vocab.bos_id, vocab.eos_id, 20,
                                temperature=temperature, top_k=10,
                                generator=generator)[0]
        samples.append((temperature, translation.detokenize(vocab.decode(words))))
markdown_table(["temperature", "sample (top-k = 10)"], samples)

# %% [markdown]
# ## Examples
#
# The seed sentence and a few test sentences, with the reference and both models'
# translations (beam width 4):

# %%
example_rows = [(seed_zh, seed_en, *(m.translate([seed_zh], beam_size=4)[0]
                                     for m in models.values()))]
step_size = max(1, len(test_sources) // 6)
for i in range(step_size // 2, len(test_sources), step_size):
    example_rows.append((test_sources[i], test_references[i],
                         translations["no attention"]["4"][i],
                         translations["attention"]["4"][i]))
markdown_table(["source", "reference", "no attention", "attention"], example_rows)

# %% tags=["remove-cell"]
assert example_rows[0][:2] == ("我是一个学生。", "I am a student.")

# %% [markdown]
# ## What it still cannot do
#
# Attention removed the fixed-size bottleneck between encoder and decoder, but the
# model is still built on recurrence. Each encoder and decoder state waits for the one
# before it, so training cannot be parallelised along the sentence, and information
# between distant words still travels through every step in between. The next
# chapters take attention seriously as the *only* mechanism: Chapter
# {doc}`08_attention` isolates and scales it, self-attention lets every word attend to
# every other one in the same sentence, and a later chapter drops the recurrence
# altogether — the Transformer, trained on exactly this split and scored with exactly
# this `translate` and sacreBLEU.
#
# ## Exercises
#
# 1. **Dot-product attention.** Train the attention model with the dot-product score
#    (`seq2seq.train_seq2seq_model(cfg, "dot")`, or a profile with `attention="dot"`).
#    Compare BLEU and the alignment heatmaps with the additive model.
# 2. **Exposure bias.** Compute the test cross-entropy under teacher forcing and the
#    per-token accuracy of greedy decoding against the reference at each position.
#    Where do greedy outputs first diverge from the reference, and what happens after?
# 3. **Length normalisation.** Decode the test set with beam width 8 and
#    `alpha = 0, 0.5, 1`. Plot the mean output length and BLEU against `alpha`.
# 4. **Reverse the source.** {cite:t}`sutskever2014` found that feeding the source
#    *backwards* to a one-directional encoder helped. Why might it, and why does a
#    bidirectional encoder make the trick unnecessary?
# 5. **Unknown characters.** Translate a sentence with characters that never appear in
#    the training data (say a rare surname). What does the model write? Suggest a way
#    to copy such tokens from the source.
# 6. **Input feeding.** Give the decoder Luong's input feeding: concatenate the
#    previous step's attentional state $\tanh(\mathbf{W}_c [\mathbf{s}_{t-1};
#    \mathbf{c}_{t-1}])$ to the input of step $t$. Why must training now run the GRU
#    one step at a time? Compare BLEU, the training seconds and repeated words.
