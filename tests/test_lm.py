"""n2t.lm: the harness — vocabulary and token counts, heads, the causal property, scoring, mixtures, training."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from n2t import lm
from n2t.nnlm import NNLM
from n2t.text import BOS, EOS, PAD, UNK


class LSTMBody(nn.Module):
    """A recurrent body (state = (h, c)) to check that the interface carries state across windows."""

    def __init__(self, vocab_size: int, dim: int = 8) -> None:
        super().__init__()
        self.dim = dim
        self.embedding = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)

    def forward(self, ids, state=None):
        return self.lstm(self.embedding(ids), state)


V = 40


def models() -> dict[str, lm.NeuralLM]:
    torch.manual_seed(0)
    return {
        "nnlm-adaptive": lm.NeuralLM(NNLM(V, 3, 4, 8, direct=True), V, cutoffs=[10, 25]),
        "nnlm-full": lm.NeuralLM(NNLM(V, 1, 4, 8), V, adaptive=False),
        "lstm-adaptive": lm.NeuralLM(LSTMBody(V), V, cutoffs=[10]),
    }


def test_wikitext2_vocabulary_and_the_test_token_count():
    vocab = lm.wikitext2_vocab()
    assert len(vocab) == lm.VOCAB_SIZE == 33_278
    assert UNK in vocab and EOS in vocab and BOS not in vocab and PAD not in vocab
    assert vocab.freqs[vocab.itos[2]] >= vocab.freqs[vocab.itos[100]]  # most frequent first (adaptive softmax)
    test = lm.wikitext2_ids("test")
    assert len(test) == lm.TEST_TOKENS == 245_569
    assert int(test[-1]) == vocab.eos_id


@pytest.mark.parametrize("adaptive", [True, False])
def test_head_distributions_sum_to_one_and_match_the_target_scores(adaptive):
    torch.manual_seed(0)
    head = lm.Head(16, 300, adaptive=adaptive, cutoffs=[20, 100])
    hidden = torch.randn(64, 16) * 3
    logp = head.log_prob(hidden)
    assert logp.shape == (64, 300)
    assert torch.allclose(logp.double().exp().sum(-1), torch.ones(64, dtype=torch.float64), atol=1e-5)
    targets = torch.randint(0, 300, (64,))
    assert torch.allclose(head.target_logprob(hidden, targets), logp.gather(1, targets[:, None])[:, 0], atol=1e-5)


def test_adaptive_head_sums_to_one_over_the_wikitext_vocabulary():
    torch.manual_seed(0)
    head = lm.Head(32, lm.VOCAB_SIZE)  # default cutoffs 2,000 and 10,000
    assert head.cutoffs == (2_000, 10_000)
    total = head.log_prob(torch.randn(8, 32)).double().exp().sum(-1)
    assert torch.allclose(total, torch.ones(8, dtype=torch.float64), atol=1e-4)


def test_full_head_is_log_softmax_of_a_linear_layer():
    torch.manual_seed(0)
    head = lm.Head(6, 11, adaptive=False)
    hidden = torch.randn(5, 6)
    expected = torch.log_softmax(hidden @ head.linear.weight.T + head.linear.bias, dim=-1)
    assert torch.allclose(head.log_prob(hidden), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["nnlm-adaptive", "nnlm-full", "lstm-adaptive"])
def test_changing_token_t_never_changes_the_scores_up_to_t(name):
    model = models()[name].eval()
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (60,), generator=generator)
    base = lm.score(model, ids, seq_len=7, start_id=0)
    for t in (0, 6, 7, 23, 59):
        changed = ids.clone()
        changed[t] = (ids[t] + 1 + torch.randint(0, V - 1, (), generator=generator)) % V
        other = lm.score(model, changed, seq_len=7, start_id=0)
        assert torch.equal(other[:t], base[:t]), f"token {t} changed an earlier score"
        if t + 1 < len(ids):
            assert not torch.equal(other[t + 1 :], base[t + 1 :]), "a later score must depend on token t"
        # the whole distribution that predicts token t (from the tokens before it) is unchanged too
        inputs = torch.cat([torch.tensor([0]), ids[:-1]])[None]
        inputs_changed = torch.cat([torch.tensor([0]), changed[:-1]])[None]
        with torch.no_grad():
            p, _ = model.next_token_logprobs(inputs)
            q, _ = model.next_token_logprobs(inputs_changed)
        assert torch.equal(p[0, : t + 1], q[0, : t + 1])


@pytest.mark.parametrize("name", ["nnlm-adaptive", "nnlm-full", "lstm-adaptive"])
def test_scores_do_not_depend_on_the_window_length(name):
    model = models()[name]
    ids = torch.randint(0, V, (50,), generator=torch.Generator().manual_seed(2))
    one_window = lm.score(model, ids, seq_len=1000, start_id=1)
    for seq_len in (1, 3, 16):
        assert torch.allclose(lm.score(model, ids, seq_len=seq_len, start_id=1), one_window, atol=1e-5)
    assert one_window.dtype == torch.float64 and one_window.shape == (50,)
    assert (one_window < 0).all()


def test_nnlm_reads_the_start_token_as_its_first_context():
    model = models()["nnlm-full"]  # context_size 1: a bigram model
    ids = torch.tensor([3, 4])
    first = lm.score(model, ids, start_id=7)[0]
    with torch.no_grad():
        expected, _ = model(torch.tensor([[7]]), torch.tensor([[3]]))
    assert math.isclose(float(first), float(expected), rel_tol=1e-6)


def test_mix_is_the_linear_interpolation_of_probabilities():
    a = torch.log(torch.tensor([0.5, 0.1, 0.02], dtype=torch.float64))
    b = torch.log(torch.tensor([0.1, 0.3, 0.2], dtype=torch.float64))
    mixed = lm.mix(a, b, 0.25)
    expected = torch.log(0.25 * a.exp() + 0.75 * b.exp())
    assert torch.allclose(mixed, expected, atol=1e-12)
    assert torch.equal(lm.mix(a, b, 1.0), a) and torch.equal(lm.mix(a, b, 0.0), b)
    assert lm.perplexity(mixed) <= max(lm.perplexity(a), lm.perplexity(b))


def test_mixture_weight_maximises_the_heldout_likelihood():
    generator = torch.Generator().manual_seed(3)
    a = -torch.rand(2_000, generator=generator, dtype=torch.float64) * 6
    b = -torch.rand(2_000, generator=generator, dtype=torch.float64) * 6
    weight = lm.mixture_weight(a, b)
    assert 0.0 < weight < 1.0
    best = float(lm.mix(a, b, weight).mean())
    for other in (weight - 0.02, weight + 0.02, 0.5):
        assert float(lm.mix(a, b, other).mean()) <= best + 1e-12
    assert lm.mixture_weight(a, a - 1.0) > 0.99  # a dominates b on every token


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    assert math.isclose(lm.perplexity(torch.full((10,), -math.log(123.0), dtype=torch.float64)), 123.0, rel_tol=1e-12)


def test_ngram_scores_line_up_with_the_running_text_stream():
    from n2t.ngram import NGramLM

    model = NGramLM(2, "kneser_ney").fit(lm.wikitext2_lines("train", 300), vocab=lm.wikitext2_vocab())
    logp = lm.ngram_logprobs(model, "test", max_lines=40)
    assert len(logp) == len(lm.wikitext2_ids("test", 40))
    assert torch.isfinite(logp).all() and (logp < 0).all()


def test_training_improves_validation_and_keeps_the_best_checkpoint():
    torch.manual_seed(0)
    pattern = torch.tensor([1, 5, 9, 2, 7, 3, 8, 4] * 150)  # a deterministic cycle: easy to learn
    model = lm.NeuralLM(NNLM(12, 2, 8, 16), 12, adaptive=False)
    before = lm.perplexity(lm.score(model, pattern[:200]))
    log = lm.train_lm(model, pattern, pattern[:200], tokens=6_000, batch_size=8, seq_len=16, lr=1e-2,
                      eval_every=1_500, warmup_steps=5)
    assert [point["tokens"] for point in log.curve] == sorted(point["tokens"] for point in log.curve)
    assert len(log.curve) >= 4 and 6_000 <= log.clock["tokens"] < 6_000 + 8 * 16  # a fixed number of tokens
    assert log.best["valid_ppl"] == min(point["valid_ppl"] for point in log.curve) < before / 2
    assert math.isclose(lm.perplexity(lm.score(model, pattern[:200])), log.best["valid_ppl"], rel_tol=1e-9)
    result = lm.evaluate_lm(model, log, pattern[:100], pattern[:200])
    record = json.loads(json.dumps(result.metrics()))
    assert set(record) == {"test_ppl", "valid_ppl", "parameters", "tokens_seen", "clock", "context",
                           "test_tokens", "head", "curve", "context_tokens"}
    assert record["test_tokens"] == 100 and record["head"] == "full softmax"
    assert "the last 2" in record["context"] and record["context_tokens"] == [2, 2]  # numbers, not prose


def test_context_range_in_numbers():
    found = {name: model.context_range for name, model in models().items()}
    assert found == {"nnlm-adaptive": (3, 3), "nnlm-full": (1, 1), "lstm-adaptive": None}


# --------------------------------------------------------------------------------------- bad input


def test_bad_input_gets_clear_errors():
    model = models()["nnlm-full"]
    with pytest.raises(ValueError, match="empty"):
        lm.encode_stream([], lm.wikitext2_vocab())
    with pytest.raises(KeyError, match="zzqx-not-a-word"):
        lm.encode_stream(["the", "zzqx-not-a-word"], lm.wikitext2_vocab())
    with pytest.raises(TypeError, match="not a string"):
        lm.encode_stream("the cat", lm.wikitext2_vocab())
    with pytest.raises(ValueError, match="empty"):
        lm.score(model, torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="outside"):
        lm.score(model, torch.tensor([1, V]))
    with pytest.raises(ValueError, match="start_id"):
        lm.score(model, torch.tensor([1, 2]), start_id=V)
    with pytest.raises(ValueError, match="seq_len"):
        lm.score(model, torch.tensor([1, 2]), seq_len=0)
    with pytest.raises(ValueError, match="tokens"):
        lm.train_lm(model, torch.arange(30) % V, torch.arange(10), tokens=0)
    with pytest.raises(ValueError, match="same tokens"):
        lm.mix(torch.zeros(3), torch.zeros(4), 0.5)
    with pytest.raises(ValueError, match="weight"):
        lm.mix(torch.zeros(3), torch.zeros(3), 1.5)
    with pytest.raises(ValueError, match="empty"):
        lm.perplexity([])
    with pytest.raises(ValueError, match="cutoffs"):
        lm.Head(8, 50, cutoffs=[60])
    with pytest.raises(ValueError, match="cutoffs"):
        lm.Head(8, 5)  # the default cutoffs do not fit a tiny vocabulary
    with pytest.raises(ValueError, match="too small"):
        lm.Head(4, 50, cutoffs=[10, 20])
    with pytest.raises(TypeError, match="dim"):
        lm.NeuralLM(nn.Linear(3, 3), 10)
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        model(torch.tensor([1, 2]), torch.tensor([2, 3]))


def test_zoo_recipe_scores_every_baseline_on_the_whole_test_split():
    from n2t.profile import Settings

    cfg = Settings("ngram_models", "test", {"train_lines": 300, "valid_lines": 50, "max_order": 3})
    state, metrics = lm.train_ngram_baselines(cfg)
    records = {r["model"]: r for r in metrics["models"]}
    assert list(records) == ["uniform", "unigram (MLE)", "Kneser–Ney 2-gram", "Kneser–Ney 3-gram"]
    assert records["uniform"]["test_ppl"] == pytest.approx(lm.VOCAB_SIZE, rel=1e-9)
    assert all(r["test_tokens"] == lm.TEST_TOKENS for r in records.values())
    assert records["Kneser–Ney 3-gram"]["parameters"] > records["Kneser–Ney 2-gram"]["parameters"]
    # the stored log-probabilities are those of the highest order, the model mixtures use
    assert state["model"] == "Kneser–Ney 3-gram"
    assert lm.perplexity(state["test_logprobs"]) == pytest.approx(records["Kneser–Ney 3-gram"]["test_ppl"])
    assert len(state["valid_logprobs"]) == sum(len(line) + 1 for line in lm.wikitext2_lines("valid"))
    for record in records.values():
        assert set(record["clock"]) >= {"tokens", "unit", "cpu_seconds", "wall_seconds", "threads", "device"}
