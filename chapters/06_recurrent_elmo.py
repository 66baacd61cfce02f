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
# # Recurrent language models and ELMo
#
# The neural LM of {doc}`03_neural_lm` reads a fixed window of previous words: whatever
# lies further back does not exist for it. The word vectors of {doc}`04_word2vec` have
# the opposite limit: one vector per word type, the same in every sentence, so "star"
# means the same thing in "a star of the film" and "the star's magnitude". This chapter
# removes both limits with one idea, a **running state** carried along the text. A
# recurrent network reads the text one token at a time and updates a vector that can, in
# principle, remember everything it has read. We build the LSTM, the recurrent cell that
# makes this work in practice, check it against PyTorch's, train an LSTM language model
# with the book's harness, and then turn two of them, one reading forwards and one
# backwards, into ELMo {cite:p}`peters2018`: word vectors that depend on the sentence.

# %% tags=["remove-cell"]
import math
import time
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from n2t.book import Text, glue, markdown_table
from torch import nn

import n2t.plot
from n2t import elmo, lm, ngram, rnn, transfer, zoo
from n2t.profile import current
from n2t.clock import clock_label, clock_seconds, measured
from n2t.train import seed_everything

n2t.plot.use_book_style()
cfg = current().settings("recurrent")
vocab = lm.wikitext2_vocab()

# %% [markdown]
# ## From a window to a running state
#
# A recurrent neural network (RNN) {cite:p}`elman1990` keeps a hidden state
# $\mathbf{h}_t$ and updates it with each input $\mathbf{x}_t$:
#
# $$\mathbf{h}_t = \tanh(\mathbf{W}_{ih}\mathbf{x}_t + \mathbf{W}_{hh}\mathbf{h}_{t-1}
# + \mathbf{b}).$$
#
# The same weights serve every step, so the model reads texts of any length, and
# $\mathbf{h}_t$ depends on every token so far. Whether it *uses* a token far back is
# another matter. Training needs the gradient of a loss at step $T$ with respect to an
# input $k$ steps earlier, and the chain rule multiplies $k$ Jacobians
# $\partial \mathbf{h}_t / \partial \mathbf{h}_{t-1} = \operatorname{diag}(1 -
# \mathbf{h}_t^2)\,\mathbf{W}_{hh}$. When these shrink vectors, the product shrinks
# exponentially in $k$: the **vanishing gradient** {cite:p}`bengio1994`. We can measure
# it. The function below runs a cell over random inputs and returns the norm of the
# gradient of the last hidden state, projected on a fixed random direction $\mathbf{d}$
# to make it one number, with respect to each earlier input:
#
# ```{literalinclude} ../lib/n2t/rnn.py
# :caption: lib/n2t/rnn.py
# :pyobject: gradient_by_distance
# :lines: 1-3,11-
# ```

# %%
def mean_gradient(make_cell, seeds: int) -> np.ndarray:
    """‖∂(h_T · d)/∂x_{T−k}‖ averaged over freshly initialised cells."""
    norms = []
    for seed in range(seeds):
        seed_everything(seed)
        norms.append(rnn.gradient_by_distance(make_cell(), cfg.grad_length, seed=seed))
    return torch.stack(norms).mean(0).numpy()


def lstm_with_forget_bias(bias: float):
    def make() -> rnn.LSTMCell:
        cell = rnn.LSTMCell(cfg.grad_width, cfg.grad_width)
        with torch.no_grad():  # the forget gate is the second block of the biases
            cell.bias_hh[cfg.grad_width : 2 * cfg.grad_width] += bias
        return cell
    return make


width = cfg.grad_width
gradients = {
    "vanilla RNN": mean_gradient(lambda: rnn.RNNCell(width, width), cfg.grad_seeds),
    "LSTM": mean_gradient(lstm_with_forget_bias(0.0), cfg.grad_seeds),
    "LSTM, forget bias +1": mean_gradient(lstm_with_forget_bias(1.0), cfg.grad_seeds),
}

# %% mystnb={"figure": {"caption": "Norm of the gradient of the last hidden state (projected on a fixed random direction d) with respect to the input k steps back, for freshly initialised cells (mean over seeds; log scale).", "name": "fig-gradient-distance"}, "image": {"alt": "Three lines on a log scale falling with the distance k. The vanilla RNN's falls fastest; the LSTM's falls more slowly, and the LSTM with forget-gate bias +1 the slowest."}}
distance = np.arange(cfg.grad_length)
ax = n2t.plot.curves(
    {name: (distance, norms) for name, norms in gradients.items()},
    xlabel="distance k (steps back)", ylabel="gradient norm ‖∂(h_T · d) / ∂x_{T−k}‖",
)
ax.set_yscale("log")
plt.show()


# %% tags=["remove-cell"]
def per_step_factor(norms: np.ndarray) -> float:
    """The average shrink factor per step back, from k = 1 to the last nonzero norm."""
    last = int(np.nonzero(norms > 0)[0].max())
    return float(np.exp(np.log(norms[last] / norms[1]) / max(last - 1, 1)))


factors = {name: per_step_factor(norms) for name, norms in gradients.items()}
far = cfg.grad_length - 1
ratios = {name: norms[far] / norms[0] for name, norms in gradients.items()}
assert ratios["vanilla RNN"] < ratios["LSTM"] < ratios["LSTM, forget bias +1"]
glue("grad_far", far)
glue("grad_vanilla_factor", factors["vanilla RNN"])
glue("grad_lstm_factor", factors["LSTM"])
glue("grad_lstm1_factor", factors["LSTM, forget bias +1"])
glue("grad_vanilla_ratio", ratios["vanilla RNN"])
glue("grad_lstm1_ratio", ratios["LSTM, forget bias +1"])

# %% [markdown]
# Each step back multiplies the vanilla RNN's gradient by about
# {glue:text}`grad_vanilla_factor:.2f` on average, so after {glue:text}`grad_far` steps
# a fraction {glue:text}`grad_vanilla_ratio:.1e` of it is left
# ({numref}`fig-gradient-distance`): a word that far back cannot teach the model
# anything. The LSTM below shrinks its gradient by {glue:text}`grad_lstm_factor:.2f` per
# step, and by {glue:text}`grad_lstm1_factor:.2f` when its forget gate starts out
# mostly open, a common initialisation {cite:p}`jozefowicz2015`; after
# {glue:text}`grad_far` steps {glue:text}`grad_lstm1_ratio:.1e` of the gradient is
# left. These are untrained cells with random inputs; training moves the gates, and an
# LSTM can learn to keep its forget gate near 1 where it needs to remember.

# %% [markdown]
# ## The LSTM cell
#
# The long short-term memory {cite:p}`hochreiter1997` with a forget gate
# {cite:p}`gers2000` adds a second state, the **cell** $\mathbf{c}_t$, which changes
# only by elementwise scaling and addition. Three **gates**, sigmoid vectors in
# $(0, 1)$, decide what to forget, what to write and what to show:
#
# $$
# \begin{aligned}
# \mathbf{i}_t &= \sigma(\mathbf{W}_{ii}\mathbf{x}_t + \mathbf{W}_{hi}\mathbf{h}_{t-1}
#   + \mathbf{b}_i) &
# \mathbf{f}_t &= \sigma(\mathbf{W}_{if}\mathbf{x}_t + \mathbf{W}_{hf}\mathbf{h}_{t-1}
#   + \mathbf{b}_f) \\
# \mathbf{g}_t &= \tanh(\mathbf{W}_{ig}\mathbf{x}_t + \mathbf{W}_{hg}\mathbf{h}_{t-1}
#   + \mathbf{b}_g) &
# \mathbf{o}_t &= \sigma(\mathbf{W}_{io}\mathbf{x}_t + \mathbf{W}_{ho}\mathbf{h}_{t-1}
#   + \mathbf{b}_o) \\
# \mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1}
#   + \mathbf{i}_t \odot \mathbf{g}_t &
# \mathbf{h}_t &= \mathbf{o}_t \odot \tanh(\mathbf{c}_t)
# \end{aligned}
# $$
#
# Along the cell, $\partial \mathbf{c}_t / \partial \mathbf{c}_{t-1} =
# \operatorname{diag}(\mathbf{f}_t)$: no squashing, no weight matrix, just the forget
# gate. Where it stays near 1, the gradient passes through many steps
# ({numref}`fig-lstm-cell`).

# %% tags=["remove-input"] mystnb={"figure": {"caption": "One step of the LSTM. The cell state runs along the top from $\\mathbf{c}_{t-1}$ to $\\mathbf{c}_t$, changed only by the forget gate's elementwise product and the addition of $\\mathbf{i}_t \\odot \\mathbf{g}_t$; the gates $\\mathbf{i}_t$, $\\mathbf{f}_t$, $\\mathbf{o}_t$ (sigmoids) and the candidate $\\mathbf{g}_t$ (tanh) all read $\\mathbf{x}_t$ and $\\mathbf{h}_{t-1}$; the new hidden state is $\\mathbf{h}_t = \\mathbf{o}_t \\odot \\tanh(\\mathbf{c}_t)$. Width: this chapter's LSTM language model.", "name": "fig-lstm-cell"}, "image": {"alt": "An LSTM cell diagram. A thick line, the cell state, runs from c_(t-1) on the left through a multiply node and an add node to c_t on the right. Below it four brown gate boxes, f_t sigma, i_t sigma, g_t tanh and o_t sigma, all fed by one line carrying h_(t-1) and x_t. The forget gate goes up into the multiply node; i_t and g_t are multiplied and added to the cell; tanh of the new cell is multiplied by o_t to give h_t, which leaves at the bottom right."}}
import n2t.diagrams

n2t.diagrams.lstm_cell()

# %% [markdown]
# Here is one step by hand, with the four weight blocks stacked in PyTorch's order
# (i, f, g, o):

# %%
seed_everything(0)
input_size, hidden_size = 3, 4
torch_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
W_ih, W_hh = torch_lstm.weight_ih_l0, torch_lstm.weight_hh_l0  # (4H, in), (4H, H)
b = torch_lstm.bias_ih_l0 + torch_lstm.bias_hh_l0
x = torch.randn(1, 5, input_size)  # one sequence of 5 inputs
h, c = torch.zeros(hidden_size), torch.zeros(hidden_size)
hand_outputs = []
with torch.no_grad():
    for t in range(x.shape[1]):
        i, f, g, o = (W_ih @ x[0, t] + W_hh @ h + b).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hand_outputs.append(h)
hand_outputs = torch.stack(hand_outputs)
hand_outputs[-1]

# %% [markdown]
# PyTorch's `nn.LSTM` with the same weights gives the same hidden states:

# %%
with torch.no_grad():
    torch_outputs, (torch_h, torch_c) = torch_lstm(x)
assert torch.allclose(hand_outputs, torch_outputs[0], atol=1e-6)
assert torch.allclose(c, torch_c[0, 0], atol=1e-6)

# %% [markdown]
# The library's cell does the same computation, with the input projection of all steps
# computed at once (one big product instead of one per step):
#
# ```{literalinclude} ../lib/n2t/rnn.py
# :caption: lib/n2t/rnn.py
# :pyobject: LSTMCell.step
# ```
#
# `n2t.rnn.LSTM` stacks such layers with `nn.LSTM`'s interface, so weights copy from one
# to the other. A 3-layer stack, batch-first, with an initial state, agrees with
# PyTorch's to rounding error; `tests/test_rnn.py` also checks the gradients:

# %%
seed_everything(1)
theirs = nn.LSTM(8, 16, num_layers=3, batch_first=True)
ours = rnn.copy_from_torch(rnn.LSTM(8, 16, num_layers=3), theirs)
x = torch.randn(4, 12, 8)  # (batch, time, input)
start = (torch.randn(3, 4, 16), torch.randn(3, 4, 16))  # (layers, batch, hidden)
with torch.no_grad():
    (out_ours, (h_ours, c_ours)), (out_theirs, (h_theirs, c_theirs)) = (
        ours(x, start), theirs(x, start))
assert torch.allclose(out_ours, out_theirs, atol=1e-6)
assert torch.allclose(h_ours, h_theirs, atol=1e-6)
assert torch.allclose(c_ours, c_theirs, atol=1e-6)
float((out_ours - out_theirs).abs().max())

# %% [markdown]
# ### Ours against `nn.LSTM`: speed
#
# Correct is not the same as fast. Forward and backward through one layer:


# %%
def fwd_bwd_seconds(layer: nn.Module, repeats: int) -> float:
    """The best time of forward + backward through ``layer`` (batch, time, width)."""
    x = torch.randn(cfg.bench_batch, cfg.bench_len, cfg.bench_width)
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        started = time.perf_counter()
        layer(x)[0].sum().backward()
        times.append(time.perf_counter() - started)
    return min(times[1:])


seed_everything(0)
bench_width = cfg.bench_width
bench = {
    "nn.LSTM": fwd_bwd_seconds(nn.LSTM(bench_width, bench_width, batch_first=True),
                               cfg.bench_repeats),
    "n2t.rnn.LSTM": fwd_bwd_seconds(rnn.LSTM(bench_width, bench_width),
                                    cfg.bench_repeats),
}
markdown_table(["layer", "forward + backward (ms, best run)"],
               [(f"`{name}`", f"{1e3 * sec:.1f}") for name, sec in bench.items()])

# %% tags=["remove-cell"]
slowdown = bench["n2t.rnn.LSTM"] / bench["nn.LSTM"]
glue("bench_slowdown", slowdown)
fast_text = ("So the models below train with nn.LSTM; the cell we wrote is the one "
             "it computes.")
noisy_text = ("In this run the two took about as long (timings of a few milliseconds "
              "are noisy on a shared machine); the models below train with nn.LSTM "
              "all the same.")
glue("bench_verdict", Text(fast_text if slowdown > 1.2 else noisy_text))
glue("bench_shape", Text(f"{cfg.bench_batch} × {cfg.bench_len} × {cfg.bench_width}"))

# %% [markdown]
# On a batch of {glue:text}`bench_shape` (batch × time × width), our layer takes
# {glue:text}`bench_slowdown:.1f` times as long as `nn.LSTM` (`make bench` measures the
# same thing on the full size). The arithmetic is the same; the difference is overhead.
# Our loop launches a handful of small operations per step from Python and autograd
# records each of them, while `nn.LSTM` runs the whole sequence in one fused C++ kernel
# (cuDNN on a GPU) with a hand-written backward pass. {glue:text}`bench_verdict`

# %% [markdown]
# ## An LSTM language model
#
# The harness of {doc}`03_neural_lm` takes any *body* that maps ids to hidden vectors
# and carries a state. For an LSTM the state is $(\mathbf{h}, \mathbf{c})$, handed from
# one window of the text to the next, so the model reads *everything* before the
# current token, not just the last few words:
#
# ```{literalinclude} ../lib/n2t/rnn.py
# :caption: lib/n2t/rnn.py
# :pyobject: LSTMBody.forward
# :lines: 1-4,7-
# ```
#
# It is trained for a fixed number of tokens, with the adaptive softmax head, and scored
# on the same 245,569 test tokens as every other model in the book. The trained model is
# the zoo artefact `"lstm-lm"`:

# %%
lstm_artefact = zoo.get("lstm-lm")
lstm_record = lstm_artefact.metrics
markdown_table(["test PPL", "valid PPL", "parameters", "training tokens",
                clock_label(lstm_record["clock"])],
               [(f"{lstm_record['test_ppl']:.1f}", f"{lstm_record['valid_ppl']:.1f}",
                 f"{lstm_record['parameters']:,}", f"{lstm_record['tokens_seen']:,}",
                 f"{clock_seconds(lstm_record['clock']):,.0f}")])

# %% [markdown]
# Kneser–Ney is refitted here as in {doc}`03_neural_lm` (it takes seconds), and the
# NNLM's record and per-token probabilities are read from the zoo:

# %%
train_lines = lm.wikitext2_lines("train", cfg.train_lines)
with measured("tokens") as kn_clock:  # the zoo's clock: CPU-seconds, one thread
    kn = ngram.NGramLM(cfg.kn_order, "kneser_ney").fit(train_lines, vocab=vocab)
kn_seconds = clock_seconds(kn_clock.reading())
kn_test_logp = lm.ngram_logprobs(kn, "test")
kn_valid_logp = lm.ngram_logprobs(kn, "valid", cfg.valid_lines)
nnlm_artefact = zoo.get("nnlm")
nnlm_record = nnlm_artefact.metrics
lstm_test_logp = lstm_artefact.state["test_logprobs"]
lstm_valid_logp = lstm_artefact.state["valid_logprobs"]
assert len(kn_test_logp) == len(lstm_test_logp) == lm.TEST_TOKENS == 245_569
assert len(kn_valid_logp) == len(lstm_valid_logp)

# %% [markdown]
# Since the models score the same tokens, the LSTM can be mixed with Kneser–Ney exactly
# as the NNLM was, with the weight λ tuned on the validation text:

# %%
weight = lm.mixture_weight(lstm_valid_logp, kn_valid_logp)
mixed_test_logp = lm.mix(lstm_test_logp, kn_test_logp, weight)
nnlm_mix_weight = lm.mixture_weight(nnlm_artefact.state["valid_logprobs"],
                                    kn_valid_logp)
nnlm_mixed = lm.mix(nnlm_artefact.state["test_logprobs"], kn_test_logp,
                    nnlm_mix_weight)
nnlm_seconds = clock_seconds(nnlm_record["clock"])
lstm_seconds = clock_seconds(lstm_record["clock"])
rows = [
    (f"Kneser–Ney {cfg.kn_order}-gram", lm.perplexity(kn_test_logp), kn_seconds),
    ("NNLM (Chapter 3)", nnlm_record["test_ppl"], nnlm_seconds),
    ("LSTM", lstm_record["test_ppl"], lstm_seconds),
    (f"NNLM + Kneser–Ney (λ = {nnlm_mix_weight:.2f})", lm.perplexity(nnlm_mixed),
     nnlm_seconds + kn_seconds),
    (f"LSTM + Kneser–Ney (λ = {weight:.2f})", lm.perplexity(mixed_test_logp),
     lstm_seconds + kn_seconds),
]
clock = clock_label(kn_clock.reading(), nnlm_record["clock"], lstm_record["clock"])
markdown_table(["model", "test PPL", clock],
               [(name, f"{ppl:,.1f}", f"{sec:,.0f}") for name, ppl, sec in rows])

# %% tags=["remove-cell"]
kn_test_ppl = rows[0][1]
lstm_mix_ppl = rows[4][1]
assert lstm_mix_ppl < min(kn_test_ppl, lstm_record["test_ppl"])
glue("kn_test_ppl", kn_test_ppl)
glue("kn_order", cfg.kn_order)
glue("kn_seconds", kn_seconds)
glue("nnlm_test_ppl", nnlm_record["test_ppl"])
glue("lstm_test_ppl", lstm_record["test_ppl"])
glue("lstm_params", lstm_record["parameters"])
glue("lstm_tokens", lstm_record["tokens_seen"])
glue("lstm_seconds", lstm_seconds)
glue("lstm_speed", lstm_record["tokens_seen"] / lstm_seconds)
glue("clock_label", Text(clock))
glue("lstm_mix_ppl", lstm_mix_ppl)
glue("lstm_mix_weight", weight)
glue("nnlm_mix_ppl", rows[3][1])
glue("lstm_mix_gain", 100 * (1 - lstm_mix_ppl / lstm_record["test_ppl"]))
glue("lstm_wins", 100 * float((lstm_test_logp > kn_test_logp).double().mean()))
verdict = ("below" if lstm_record["test_ppl"] < nnlm_record["test_ppl"] else "above")
glue("lstm_verdict", Text(f"{verdict} the NNLM's {nnlm_record['test_ppl']:.1f}"))

# %% [markdown]
# The LSTM ({glue:text}`lstm_params:,` parameters, {glue:text}`lstm_tokens:,` training
# tokens in {glue:text}`lstm_seconds:.0f` s, {glue:text}`clock_label`,
# {glue:text}`lstm_speed:,.0f` tokens per second) reaches a test perplexity of
# {glue:text}`lstm_test_ppl:.1f`, {glue:text}`lstm_verdict`, and Kneser–Ney reaches
# {glue:text}`kn_test_ppl:.1f`. The LSTM gives the higher probability to
# {glue:text}`lstm_wins:.0f`% of the test tokens and Kneser–Ney to the rest, so mixing
# the two pays again: with λ = {glue:text}`lstm_mix_weight:.2f` the mixture reaches
# {glue:text}`lstm_mix_ppl:.1f`,
# {glue:text}`lstm_mix_gain:.0f`% below the LSTM alone (the NNLM's mixture:
# {glue:text}`nnlm_mix_ppl:.1f`).
# Counts still remember rare phrases that a small network trained for minutes has not
# learned.
#
# Where does the time go? {numref}`fig-ppl-seconds` follows the validation perplexity of
# both neural models during training, against the seconds they trained:

# %% mystnb={"figure": {"caption": "Validation perplexity against training seconds for the NNLM of Chapter 3 and the LSTM (read from their zoo records), and the Kneser-Ney model, which is done after fitting (dot and dashed line).", "name": "fig-ppl-seconds"}, "image": {"alt": "Validation perplexity falling with training seconds for the NNLM and the LSTM, with a dashed horizontal line for Kneser-Ney."}}
kn_valid_ppl = lm.perplexity(kn_valid_logp)
ax = n2t.plot.curves(
    {name: ([clock_seconds(p) for p in record["curve"]],
            [p["valid_ppl"] for p in record["curve"]])
     for name, record in (("NNLM", nnlm_record), ("LSTM", lstm_record))},
    xlabel=clock, ylabel="validation perplexity",
)
ax.axhline(kn_valid_ppl, color="0.3", linestyle="--", label="Kneser–Ney")
ax.plot([kn_seconds], [kn_valid_ppl], "o", color="0.3")
ax.set_yscale("log")
ax.legend()
plt.show()

# %% tags=["remove-cell"]
lstm_best = min(p["valid_ppl"] for p in lstm_record["curve"])
nnlm_best = min(p["valid_ppl"] for p in nnlm_record["curve"])
glue("lstm_best_valid", lstm_best)
glue("nnlm_best_valid", nnlm_best)
glue("lstm_rate", lstm_record["tokens_seen"] / lstm_seconds)
glue("nnlm_rate", nnlm_record["tokens_seen"] / nnlm_seconds)

# %% [markdown]
# Per second of training, the NNLM reads {glue:text}`nnlm_rate:,.0f` tokens and the
# LSTM {glue:text}`lstm_rate:,.0f`: a recurrent step must wait for the previous one,
# while a window model computes every position at once. Their best validation
# perplexities are {glue:text}`nnlm_best_valid:.1f` (NNLM) and
# {glue:text}`lstm_best_valid:.1f` (LSTM) ({numref}`fig-ppl-seconds`). Kneser–Ney is
# still the cheapest model by far: {glue:text}`kn_seconds:.1f` s of counting.

# %% [markdown]
# ## ELMo: a biLM and a mix of its layers
#
# A language model's hidden state at token $k$ is a summary of the text up to $k$, built
# to predict what comes next: a vector for the word *in its context*. Peters et al.
# {cite:p}`peters2018` turned this into word vectors, ELMo. They train a **biLM**: a
# forward LM, $\prod_k p(t_k \mid t_1, \dots, t_{k-1})$, and a backward LM,
# $\prod_k p(t_k \mid t_{k+1}, \dots, t_N)$, each an $L$-layer LSTM, which share the
# token embedding and the softmax. Token $k$ then has $L + 1$ representations:
# $\mathbf{h}_{k,0}$, its token embedding (duplicated to the width of the two
# directions joined), and for each layer $j$, $\mathbf{h}_{k,j} =
# [\overrightarrow{\mathbf{h}}_{k,j}; \overleftarrow{\mathbf{h}}_{k,j}]$. A task learns
# how to mix them:
#
# $$\text{ELMo}_k = \gamma \sum_{j=0}^{L} \operatorname{softmax}(\mathbf{s})_j\,
# \mathbf{h}_{k,j},$$
#
# with one scalar $s_j$ per layer and a scale $\gamma$. Ours is small: embedding and
# LSTMs of width {glue:text}`bilm_dim` and $L$ = {glue:text}`bilm_layers` (the paper's
# has 4,096 LSTM units projected to 512, and a character CNN for the tokens).
# {numref}`fig-bilm` draws the biLM and {numref}`fig-scalar-mix` the mix.

# %% tags=["remove-input"] mystnb={"figure": {"caption": "The biLM. A forward LM (left) reads the text left to right and predicts each next token; a backward LM (right) reads it right to left and predicts each previous token. Both are stacks of LSTM layers; they share the token embedding below and the softmax above, and have their own LSTMs. Sizes: this chapter's biLM.", "name": "fig-bilm"}, "image": {"alt": "Two groups of three columns, for tokens t_(k-1), t_k, t_(k+1). Each column goes up from the token through one shared blue embedding bar, through two brown LSTM boxes, to one shared red softmax bar and a predicted token. In the left group, the forward LM, horizontal arrows between the LSTM boxes point right and the columns predict t_k, t_(k+1), t_(k+2); in the right group, the backward LM, the arrows point left and the columns predict t_(k-2), t_(k-1), t_k."}}
import n2t.diagrams

n2t.diagrams.bilm()

# %% tags=["remove-input"] mystnb={"figure": {"caption": "ELMo's scalar mix at token $k$. Layer 0 is the token embedding written twice, to the width of the two directions joined; each LSTM layer $j$ joins the forward and backward states. The task learns one weight per layer, $\\operatorname{softmax}(\\mathbf{s})_j$, and the scale $\\gamma$.", "name": "fig-scalar-mix"}, "image": {"alt": "Three boxes stacked on the left: h_(k,0), the embedding of t_k twice, and h_(k,1) and h_(k,2), each joining a forward and a backward hidden state. Each box is multiplied by its weight softmax(s)_j; the three products are summed, the sum is multiplied by gamma and gives ELMo_k."}}
n2t.diagrams.scalar_mix()

# %% [markdown]
# ```{literalinclude} ../lib/n2t/elmo.py
# :caption: lib/n2t/elmo.py
# :pyobject: BiLM.layers
# :lines: 1-3,22-
# ```
#
# ```{literalinclude} ../lib/n2t/elmo.py
# :caption: lib/n2t/elmo.py
# :pyobject: ScalarMix
# :lines: 1-15,21-
# ```

# %% tags=["remove-cell"]
glue("bilm_dim", cfg.bilm_dim)
glue("bilm_layers", cfg.bilm_layers)

# %% [markdown]
# The two directions are trained together, on the running text and on the reversed
# running text, with the mean of their two cross-entropies as the loss, so the shared
# embedding and softmax learn from both. The backward LM is simply a forward LM over the
# reversed text, so the harness scores it on the reversed test split, the same 245,569
# tokens. The biLM is the zoo artefact `"bilm"`:

# %%
bilm_artefact = zoo.get("bilm")
bilm_record = bilm_artefact.metrics
bilm = elmo.load_bilm(bilm_artefact)
markdown_table(["direction", "test PPL", "valid PPL"], [
    ("forward", f"{bilm_record['forward_test_ppl']:.1f}",
     f"{bilm_record['forward_valid_ppl']:.1f}"),
    ("backward (reversed text)", f"{bilm_record['backward_test_ppl']:.1f}",
     f"{bilm_record['backward_valid_ppl']:.1f}"),
])

# %% tags=["remove-cell"]
assert bilm_record["test_tokens"] == lm.TEST_TOKENS
glue("bilm_forward_ppl", bilm_record["forward_test_ppl"])
glue("bilm_backward_ppl", bilm_record["backward_test_ppl"])
glue("bilm_seconds", clock_seconds(bilm_record["clock"]))
glue("bilm_tokens", bilm_record["tokens_seen"])
glue("bilm_params", bilm_record["parameters"])
bilm_ratio = bilm_record["backward_test_ppl"] / bilm_record["forward_test_ppl"]
glue("bilm_direction_ratio", bilm_ratio)
assert 0.8 < bilm_ratio < 1.25  # "about as hard", as the text says
assert min(bilm_record["forward_test_ppl"], bilm_record["backward_test_ppl"]) > (
    lstm_record["test_ppl"])  # "both are worse than the LSTM LM"

# %% [markdown]
# Trained on {glue:text}`bilm_tokens:,` tokens in each direction
# ({glue:text}`bilm_seconds:.0f` s on the same clock, {glue:text}`bilm_params:,`
# parameters), the forward LM reaches a test perplexity of
# {glue:text}`bilm_forward_ppl:.1f` and the backward LM
# {glue:text}`bilm_backward_ppl:.1f`, a ratio of {glue:text}`bilm_direction_ratio:.2f`:
# for this text, predicting a word from what follows it is about as hard as predicting
# it from what precedes it. Both are worse than the LSTM LM's
# {glue:text}`lstm_test_ppl:.1f`: each direction is narrower and saw fewer tokens.
#
# Neither direction may see the word it predicts, or the task would be trivial. On the
# trained biLM: changing the tokens from position 10 on leaves the forward LM's
# predictions up to position 10 unchanged, and changing the tokens up to position 10
# leaves the backward LM's predictions from position 10 on unchanged (the unit tests
# check every position):

# %%
snippet = lm.wikitext2_ids("test")[None, :24]
changed_late, changed_early = snippet.clone(), snippet.clone()
changed_late[:, 10:] = torch.randint(0, len(vocab), (1, 14))
changed_early[:, :11] = torch.randint(0, len(vocab), (1, 11))
with torch.no_grad():
    forward, backward = bilm.distributions(snippet)
    forward_late, _ = bilm.distributions(changed_late)
    _, backward_early = bilm.distributions(changed_early)
assert torch.allclose(forward[:, :11], forward_late[:, :11], atol=1e-5)
assert torch.allclose(backward[:, 10:], backward_early[:, 10:], atol=1e-5)

# %% [markdown]
# ## Context changes the vector
#
# Word2vec gives a word one vector. A biLM's vector for a word depends on the sentence.
# To see this we need a word with two senses that WikiText-2 uses often enough in both.
# We pick it by a rule rather than by hand: for a few classic ambiguous words we label
# each training occurrence with a sense when a word from that sense's list occurs
# within 15 tokens of it (and none from the other list), and keep the word whose rarer
# sense has the most labelled occurrences.

# %%
SENSES = {
    "star": ({"galaxy", "sun", "stars", "planet", "telescope", "magnitude",
              "constellation", "solar", "orbit", "sky"},
             {"film", "actor", "actress", "role", "television", "movie", "starring",
              "show", "singer", "player", "guest"}),
    "rock": ({"band", "music", "album", "song", "songs", "guitar", "pop", "punk"},
             {"granite", "sandstone", "limestone", "rocks", "cliff", "volcanic",
              "stone", "soil"}),
    "fire": ({"gunfire", "guns", "artillery", "troops", "enemy", "rifle", "shots"},
             {"flames", "burned", "burning", "smoke", "firefighters", "blaze"}),
    "court": ({"judge", "supreme", "trial", "legal", "law", "justice", "jury"},
              {"tennis", "basketball", "clay", "grass", "royal", "king", "queen"}),
}
SENSE_NAMES = {"star": ("astronomy", "performer"), "rock": ("music", "stone"),
               "fire": ("gunfire", "flames"), "court": ("law", "sport or royal")}
WINDOW = 15


Context = tuple[list[str], int, int]  # (window, sense, the word's position in it)


def labelled_contexts(word: str, lines: list[list[str]]) -> list[Context]:
    """(window of ±WINDOW tokens, sense 0 or 1, the labelled word's position in the
    window) for each labelled occurrence."""
    first, second = SENSES[word]
    found = []
    for line in lines:
        for k, token in enumerate(line):
            if token != word:
                continue
            start = max(0, k - WINDOW)
            window = line[start: k + WINDOW + 1]
            around = set(window) - {word}
            if bool(around & first) != bool(around & second):
                found.append((window, 0 if around & first else 1, k - start))
    return found


all_train_lines = lm.wikitext2_lines("train")
counts = {}
for word in SENSES:
    senses = Counter(sense for _, sense, _ in labelled_contexts(word, all_train_lines))
    counts[word] = (senses[0], senses[1])
chosen = max(counts, key=lambda w: min(counts[w]))
markdown_table(["word", "sense 0", "sense 1", "labelled occurrences (0 / 1)"],
               [(w, *SENSE_NAMES[w], f"{a} / {b}") for w, (a, b) in counts.items()])

# %% tags=["remove-cell"]
glue("sense_word", Text(chosen))
glue("sense_a", Text(SENSE_NAMES[chosen][0]))
glue("sense_b", Text(SENSE_NAMES[chosen][1]))
glue("sense_count_a", counts[chosen][0])
glue("sense_count_b", counts[chosen][1])

# %% [markdown]
# The word is "{glue:text}`sense_word`", with {glue:text}`sense_count_a` labelled
# occurrences in the {glue:text}`sense_a` sense and {glue:text}`sense_count_b` in the
# {glue:text}`sense_b` sense. We take the same number of contexts of each sense (at
# most {glue:text}`sense_per_group`), run the biLM over each ±15-token window, and keep
# the vectors of the word itself: each layer, and their plain mix (s = 0, γ = 1).


# %%
def elmo_at_word(contexts: list[Context]) -> torch.Tensor:
    """The biLM's layers at each context's labelled word: (contexts, layers, 2 dim)."""
    ids = [torch.tensor(vocab.encode(window)) for window, _, _ in contexts]
    lengths = torch.tensor([len(i) for i in ids])
    padded = nn.utils.rnn.pad_sequence(ids, batch_first=True)
    mask = torch.arange(padded.shape[1]) < lengths[:, None]
    with torch.no_grad():
        layers = bilm.layers(padded, mask)  # (contexts, layers, time, 2 dim)
    where = torch.tensor([centre for _, _, centre in contexts])  # the labelled one
    return layers[torch.arange(len(contexts)), :, where]


contexts = labelled_contexts(chosen, all_train_lines)
per_group = min(cfg.sense_contexts, *counts[chosen])
sample = ([c for c in contexts if c[1] == 0][:per_group]
          + [c for c in contexts if c[1] == 1][:per_group])
assert all(window[centre] == chosen for window, _, centre in sample)
sense_labels = torch.tensor([sense for _, sense, _ in sample])
word_layers = elmo_at_word(sample)
word_layers.shape

# %% [markdown]
# How well do the vectors separate the senses? For each context we find the most
# similar other context (cosine) and ask whether it has the same sense. With equal
# groups, guessing gets 50%; a single vector per word (word2vec, or the biLM's own
# layer 0) cannot do better than guessing, because every occurrence gets the same
# vector.


# %%
def nearest_neighbour_agreement(vectors: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of points whose most cosine-similar other point has the same label."""
    unit = F.normalize(vectors, dim=1)
    similarity = unit @ unit.T
    similarity.fill_diagonal_(-math.inf)
    return float((labels[similarity.argmax(1)] == labels).float().mean())


mixed = word_layers.mean(dim=1)  # softmax(0) = equal weights, γ = 1
agreement = {f"layer {j}": nearest_neighbour_agreement(word_layers[:, j], sense_labels)
             for j in range(1, word_layers.shape[1])}
agreement["mix of all layers"] = nearest_neighbour_agreement(mixed, sense_labels)
markdown_table(["vectors", "nearest neighbour has the same sense"],
               [(name, f"{100 * a:.0f}%") for name, a in agreement.items()]
               + [("word2vec, layer 0 (one vector)", "50% (chance)")])

# %% tags=["remove-cell"]
assert torch.equal(word_layers[0, 0], word_layers[-1, 0])  # layer 0: one vector
glue("sense_per_group", per_group)
glue("agreement_mix", 100 * agreement["mix of all layers"])
best_layer = max((k for k in agreement if k.startswith("layer")), key=agreement.get)
glue("agreement_best_layer", Text(best_layer))
glue("agreement_best", 100 * agreement[best_layer])
verdicts = (
    "That is only somewhat better than guessing: this small biLM, trained for minutes, "
    "separates the two senses weakly.",
    "The biLM was never told about senses; it learned that the words around the word "
    "predict different continuations, and its vectors carry that difference.",
)
glue("sense_verdict", Text(verdicts[agreement["mix of all layers"] >= 0.65]))

# %% mystnb={"figure": {"caption": "The ELMo vectors (plain mix of the layers) of one word in different training contexts, projected on their first two principal components and coloured by the sense labelled from the surrounding words.", "name": "fig-senses"}, "image": {"alt": "A scatter of points in two colours, one per sense; points of the same sense tend to lie together."}}
names = [SENSE_NAMES[chosen][int(s)] for s in sense_labels]
ax = n2t.plot.scatter_2d(n2t.plot.pca_2d(mixed), groups=names,
                         xlabel="principal component 1",
                         ylabel="principal component 2")
ax.set_title(f"ELMo vectors of “{chosen}”")
plt.show()

# %% [markdown]
# The nearest other context has the same sense for {glue:text}`agreement_mix:.0f`% of
# the contexts with the mixed vectors, and {glue:text}`agreement_best:.0f`% with the
# best single layer ({glue:text}`agreement_best_layer`), against 50% for any one-vector
# model ({numref}`fig-senses`). {glue:text}`sense_verdict`
#
# The same vectors retrieve contexts. For one held-out sentence of each sense, taken
# from the validation text, the three most similar training contexts are:

# %%
valid_contexts = labelled_contexts(chosen, lm.wikitext2_lines("valid"))
queries = [next(c for c in valid_contexts if c[1] == s)
           for s in (0, 1) if any(c[1] == s for c in valid_contexts)]
query_vectors = elmo_at_word(queries).mean(1)
similarity = F.normalize(query_vectors, dim=1) @ F.normalize(mixed, dim=1).T


def excerpt(window: list[str], k: int, around: int = 7) -> str:
    """The word at position ``k`` in bold, with ``around`` tokens either side."""
    before, after = window[max(0, k - around): k], window[k + 1: k + 1 + around]
    return " ".join([*before, f"**{window[k]}**", *after])


table = []
for (window, sense, centre), scores in zip(queries, similarity, strict=True):
    for rank, index in enumerate(scores.topk(3).indices.tolist()):
        neighbour = excerpt(sample[index][0], sample[index][2])
        query = excerpt(window, centre) if rank == 0 else ""
        table.append((query, SENSE_NAMES[chosen][sense] if rank == 0 else "",
                      neighbour, SENSE_NAMES[chosen][int(sense_labels[index])]))
markdown_table(["query (validation)", "its sense", "nearest training context",
                "sense"], table)

# %% [markdown]
# ## ELMo on Chapter 5's task
#
# Chapter 5 set up the yardstick for every pretrained representation: two text
# classification tasks (SMS spam, with macro-F1 because spam is rare, and subjective vs
# objective sentences) and a learning curve over the number of labelled examples, with
# the same classifier on top of every encoder. ELMo plugs in as one more *token
# encoder*. The biLM is frozen; its layers are computed once per text and kept, and only
# the mix, $\mathbf{s}$ and $\gamma$, learns with the classifier (at learning rate
# {glue:text}`elmo_lr`, faster than Chapter 5's fine-tuned embeddings, since these are
# four numbers):
#
# ```{literalinclude} ../lib/n2t/elmo.py
# :caption: lib/n2t/elmo.py
# :pyobject: ELMoEncoder.forward
# ```
#
# The curves of random, word2vec and bag-of-words features are read from Chapter 5's zoo
# artefact `"transfer-curves"`; ELMo's, on the same sizes and seeds, are the artefact
# `"elmo-transfer-curves"`:

# %%
transfer_cfg = current().settings("transfer")
elmo_artefact = zoo.get("elmo-transfer-curves")
chapter5_records = zoo.get("transfer-curves").metrics["records"]
records = chapter5_records + elmo_artefact.metrics["records"]
summary = transfer.summarise(records)
variants = list(dict.fromkeys(r["variant"] for r in records))
sizes = {task: sorted({r["size"] for r in records if r["task"] == task})
         for task in transfer_cfg.tasks}

# %% tags=["remove-cell"]
glue("elmo_lr", cfg.elmo_lr)

# %% mystnb={"figure": {"caption": "Test macro-F1 against the number of labelled training examples on Chapter 5's two tasks, for every encoder (mean over seeds; bars: one standard deviation). ELMo uses the frozen biLM of this chapter with a learned mix of its layers.", "name": "fig-elmo-curves"}, "image": {"alt": "Two panels of learning curves, macro-F1 rising with the number of labelled examples on a log axis, one line per encoder including ELMo."}}
fig, axes = plt.subplots(1, len(transfer_cfg.tasks), figsize=(10, 3.8), sharey=True)
for ax, task in zip(np.atleast_1d(axes), transfer_cfg.tasks, strict=True):
    for variant in variants:
        points = [summary[(task, variant, n)] for n in sizes[task]]
        ax.errorbar(sizes[task], [m for m, _ in points], yerr=[s for _, s in points],
                    marker="o", markersize=3, capsize=2, label=variant,
                    linewidth=2.5 if variant == "ELMo" else 1.2)
    ax.set(xscale="log", xlabel="labelled training examples", ylabel="test macro-F1",
           title=task)
np.atleast_1d(axes)[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# The same numbers, macro-F1 (mean over seeds) at every size:

# %%
for task in transfer_cfg.tasks:
    header = ["encoder"] + [f"{n:,}" for n in sizes[task]]
    table = [[variant] + [f"{summary[(task, variant, n)][0]:.3f}" for n in sizes[task]]
             for variant in variants]
    display(Markdown(f"**{task}**"))
    display(markdown_table(header, table))

# %% tags=["remove-cell"]
for task in transfer_cfg.tasks:
    key = task.replace("-", "_")
    few, every = sizes[task][0], sizes[task][-1]
    glue(f"{key}_few", few)
    glue(f"{key}_all", every)
    for variant, short in (("ELMo", "elmo"), ("word2vec frozen", "w2v"),
                           ("random", "random"), ("bag of words", "bow")):
        glue(f"{key}_{short}_few", summary[(task, variant, few)][0])
        glue(f"{key}_{short}_all", summary[(task, variant, every)][0])
    gains = {n: summary[(task, "ELMo", n)][0] - summary[(task, "word2vec frozen", n)][0]
             for n in sizes[task]}
    best_size = max(gains, key=gains.get)
    glue(f"{key}_gain_size", best_size)
    glue(f"{key}_gain", gains[best_size])
    winner = max(variants, key=lambda v: summary[(task, v, every)][0])
    glue(f"{key}_winner", Text(winner))
elmo_behind = all(summary[(t, "ELMo", n)][0] < summary[(t, "word2vec frozen", n)][0]
                  for t in transfer_cfg.tasks for n in sizes[t])
# AllenNLP's released "original" ELMo biLM has 93.6 million parameters; the paper's
# was trained for 10 epochs on the 1B Word Benchmark (about 0.8 billion words)
paper_params = 93.6e6 / bilm_record["parameters"]
paper_tokens = 10 * 0.8e9 / bilm_record["tokens_seen"]
glue("elmo_verdict", Text(
    "Features that weak lose to plain word2vec vectors at every size here; ELMo's "
    f"gains in the paper came from a biLM about {paper_params:,.0f} times larger in "
    "parameters (its released biLM has about 94 million), which read about "
    f"{paper_tokens:,.0f} times as many tokens in training." if elmo_behind
    else "Even so, its context helps where the curves show ELMo ahead."))

# %% [markdown]
# On subjectivity, with {glue:text}`subj_few` labelled sentences ELMo reaches a
# macro-F1 of {glue:text}`subj_elmo_few:.3f`, against {glue:text}`subj_w2v_few:.3f` for
# frozen word2vec and {glue:text}`subj_random_few:.3f` for random vectors; with all
# {glue:text}`subj_all:,` it reaches {glue:text}`subj_elmo_all:.3f` (word2vec
# {glue:text}`subj_w2v_all:.3f`, bag of words {glue:text}`subj_bow_all:.3f`; best:
# {glue:text}`subj_winner`). ELMo's macro-F1 minus frozen word2vec's is at its highest,
# {glue:text}`subj_gain:+.3f`, at {glue:text}`subj_gain_size:,` examples. On SMS
# spam, ELMo goes from {glue:text}`sms_spam_elmo_few:.3f`
# ({glue:text}`sms_spam_few` labels) to {glue:text}`sms_spam_elmo_all:.3f` (all
# {glue:text}`sms_spam_all:,`), against
# word2vec's {glue:text}`sms_spam_w2v_few:.3f` and {glue:text}`sms_spam_w2v_all:.3f`;
# the best with all labels is {glue:text}`sms_spam_winner`
# ({numref}`fig-elmo-curves`). Keep the scale in mind: our biLM is tiny and trained for
# minutes on two million words of Wikipedia, where the paper's was trained for weeks on
# a billion words of news: its forward test perplexity is
# {glue:text}`bilm_forward_ppl:.0f`, against the LSTM LM's
# {glue:text}`lstm_test_ppl:.0f`.
# {glue:text}`elmo_verdict` Text messages, with their abbreviations and spelling, are
# also far from Wikipedia.
#
# Which layers did the tasks choose? The learned weights softmax(s), averaged over
# seeds:

# %% mystnb={"figure": {"caption": "The learned layer weights softmax(s) of ELMo's mix against the number of labelled examples, per task (mean over seeds). Layer 0 is the token embedding, layers 1 and 2 the biLSTM layers. They start equal (1/3 each).", "name": "fig-elmo-weights"}, "image": {"alt": "Line plots of the three layer weights against the number of labelled examples for each task."}}
mix_weights = elmo_artefact.metrics["mix_weights"]
fig, axes = plt.subplots(1, len(transfer_cfg.tasks), figsize=(10, 3.4), sharey=True)
for ax, task in zip(np.atleast_1d(axes), transfer_cfg.tasks, strict=True):
    runs = [w for w in mix_weights if w["task"] == task]
    mean = {n: np.mean([w["weights"] for w in runs if w["size"] == n], axis=0)
            for n in sizes[task]}
    n2t.plot.curves({f"layer {j}": (sizes[task], [mean[n][j] for n in sizes[task]])
                     for j in range(len(mean[sizes[task][0]]))},
                    xlabel="labelled training examples", ylabel="weight softmax(s)_j",
                    ax=ax)
    ax.set(xscale="log", title=task)
plt.show()

# %% tags=["remove-cell"]
final = {task: np.mean([w["weights"] for w in mix_weights
                        if w["task"] == task and w["size"] == sizes[task][-1]], axis=0)
         for task in transfer_cfg.tasks}
assert all(abs(weights.sum() - 1) < 1e-5 for weights in final.values())  # softmax
for task, weights in final.items():
    key = task.replace("-", "_")
    glue(f"{key}_top_layer", Text(f"layer {int(np.argmax(weights))}"))
    glue(f"{key}_top_weight", float(np.max(weights)))
glue("elmo_curve_seconds", clock_seconds(elmo_artefact.metrics["clock"]))
glue("few_top_weight", np.mean([max(w["weights"]) for w in mix_weights
                                if w["size"] == sizes[w["task"]][0]]))

# %% [markdown]
# With all labels, subjectivity puts the most weight on {glue:text}`subj_top_layer`
# ({glue:text}`subj_top_weight:.2f`) and SMS spam on {glue:text}`sms_spam_top_layer`
# ({glue:text}`sms_spam_top_weight:.2f`) ({numref}`fig-elmo-weights`); with the fewest
# labels the largest weight is {glue:text}`few_top_weight:.2f` on average (every run
# starts from equal weights). The whole curve trained in
# {glue:text}`elmo_curve_seconds:.0f` s on the same clock, the biLM's layers computed
# once per text included (every later step reuses them).

# %% [markdown]
# ## Why two separate directions?
#
# ELMo joins a forward and a backward LM *after* training. Why not train one
# bidirectional LSTM to predict each word from both sides at once? Because then the
# word is one of its own inputs: the backward half of a bidirectional LSTM has already
# read token $k$ when it produces its state at $k$, and the forward half has read it
# too. A network trained to predict $t_k$ from that state learns to copy. We can watch
# this happen: a small `nn.LSTM(bidirectional=True)` trained for a few hundred steps to
# predict the token at its own position.

# %%
seed_everything(0)


class JointBiLSTM(nn.Module):
    """The wrong model: predicts token k from a biLSTM state that has read token k."""

    def __init__(self, vocab_size: int, dim: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, dim, batch_first=True, bidirectional=True)
        self.head = lm.Head(2 * dim, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(self.embedding(ids))  # (batch, time, 2 dim)
        return self.head.target_logprob(hidden.flatten(0, 1), ids.flatten())


joint = JointBiLSTM(len(vocab))
optimizer = torch.optim.Adam(joint.parameters(), lr=3e-3)
rows_of_text = lm.wikitext2_ids("train", cfg.train_lines)[: 32 * 32 * cfg.leak_steps]
batches = rows_of_text[: len(rows_of_text) // (32 * 32) * 32 * 32].view(-1, 32, 32)
for batch in batches:
    loss = -joint(batch).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
with torch.no_grad():
    valid = lm.wikitext2_ids("valid", cfg.valid_lines)[: 32 * 64].view(32, 64)
    leak_ppl = lm.perplexity(joint.eval()(valid))
# Kneser–Ney on the same validation tokens (its scores run in the same order)
kn_same_ppl = lm.perplexity(kn_valid_logp[: valid.numel()])
markdown_table(["model", "validation perplexity, the same tokens"],
               [("joint biLSTM that sees its target", f"{leak_ppl:,.1f}"),
                (f"Kneser–Ney {cfg.kn_order}-gram", f"{kn_same_ppl:,.1f}")])

# %% tags=["remove-cell"]
glue("leak_ppl", leak_ppl)
glue("leak_tokens", batches.numel())
# kn_valid_logp scores the validation stream token by token, as valid reads it
assert len(kn_valid_logp) == len(lm.wikitext2_ids("valid", cfg.valid_lines))
glue("leak_vs_kn", kn_same_ppl / leak_ppl)
assert leak_ppl < kn_same_ppl  # "times lower than Kneser–Ney's", as the text says

# %% [markdown]
# After only {glue:text}`leak_tokens:,` training tokens its validation "perplexity" is
# {glue:text}`leak_ppl:.1f`, {glue:text}`leak_vs_kn:.0f` times lower than Kneser–Ney's
# on the same tokens: not because it understands the text, but because the answer is in
# its input. That is why ELMo's two directions are trained apart and only
# *concatenated*: each half is an honest LM, but neither half alone sees both sides of a
# word. The task's mix is a weighted sum of the layers, linear, so it makes no deep
# interaction either: the two directions meet only in the task model that reads their
# concatenation. A later chapter shows how
# BERT trains one deep network on both sides at once: it hides the word, replacing it
# with a `[MASK]` token, and predicts it from everything else.

# %% [markdown]
# ## What recurrence still cannot do
#
# The LSTM reads the whole past, but through a bottleneck: everything it knows about
# the text so far must fit in $(\mathbf{h}, \mathbf{c})$, a few hundred numbers, and it
# must read the text one step after another, which is why it trains more slowly per
# token than the NNLM. The next part of the book keeps the recurrent encoder for
# translation, finds the same bottleneck there, and escapes it with attention
# ({doc}`07_seq2seq_attention`).
#
# ## Exercises
#
# 1. Set the forget-gate bias of the LSTM to −2 and to +3 in
#    {numref}`fig-gradient-distance`. How does the per-step shrink factor change? What
#    does a bias of +3 cost the cell when it needs to forget?
# 2. Speed up `n2t.rnn.LSTMLayer` with `torch.jit.script` or `torch.compile`, and
#    measure the ratio to `nn.LSTM` again (`make bench`). Where does the remaining time
#    go?
# 3. Train the LSTM LM with two layers and with width 512 for the same number of tokens.
#    Which helps more per second of training?
# 4. Mix three models, LSTM, NNLM and Kneser–Ney, with weights tuned on the validation
#    text (extend `mixture_weight`'s EM to three components). Does the NNLM still add
#    anything?
# 5. Repeat the sense study with each layer's vectors only, and with the forward and
#    backward halves of layer 2 separately. Which half separates the senses better for
#    this word, and why might that be?
# 6. Make the joint biLSTM honest by shifting: predict token $k$ from
#    $[\overrightarrow{\mathbf{h}}_{k-1}; \overleftarrow{\mathbf{h}}_{k+1}]$. What
#    validation perplexity does it reach, and how does it compare with the biLM's two
#    directions?
