"""n2t.nnlm: one-hot × Q = lookup, Bengio's formula, state across windows, neighbours, the zoo recipe."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from n2t import lm, nnlm, profile, zoo
from n2t import vectors as wv


def test_one_hot_times_q_is_a_row_lookup():
    torch.manual_seed(0)
    embedding = nn.Embedding(50, 7)
    ids = torch.tensor([[3, 0, 49], [7, 7, 1]])
    one_hot = F.one_hot(ids, num_classes=50).float()  # (batch, time, |V|)
    assert torch.allclose(one_hot @ embedding.weight, embedding(ids), atol=0, rtol=0)


def test_library_nnlm_computes_bengios_formula_with_direct_connections():
    torch.manual_seed(0)
    V, n1, m, h = 30, 3, 4, 6
    model = lm.NeuralLM(nnlm.NNLM(V, n1, m, h, direct=True), V, adaptive=False).eval()
    C = model.body.embedding.weight
    H, d = model.body.hidden.weight, model.body.hidden.bias
    U, W = model.head.linear.weight[:, :h], model.head.linear.weight[:, h:]
    b = model.head.linear.bias
    context = torch.tensor([4, 17, 2])
    x = C[context].reshape(-1)  # [C(w_{t-3}); C(w_{t-2}); C(w_{t-1})]
    y = b + W @ x + U @ torch.tanh(d + H @ x)
    with torch.no_grad():
        logp, _ = model.next_token_logprobs(context[None])
    assert torch.allclose(logp[0, -1], torch.log_softmax(y, dim=-1), atol=1e-5)


def test_state_carries_the_context_across_windows():
    torch.manual_seed(0)
    body = nnlm.NNLM(20, 4, 3, 5)
    ids = torch.randint(0, 20, (2, 11))
    whole, state = body(ids)
    first, carried = body(ids[:, :6])
    second, state2 = body(ids[:, 6:], carried)
    assert torch.allclose(torch.cat([first, second], dim=1), whole, atol=1e-6)
    assert torch.equal(state, state2) and torch.equal(state, ids[:, -3:])
    padded, _ = body(torch.tensor([[1, 2]]))
    explicit, _ = body(torch.tensor([[5]]), torch.tensor([[1, 1, 1]]))  # pad_id 1 fills the missing context
    assert torch.allclose(padded[0, :1], body(torch.tensor([[1, 1, 1, 1]]))[0][0, -1:], atol=1e-6)
    assert explicit.shape == (1, 1, 5) and body.dim == 5


def test_nearest_neighbours_by_cosine():
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    itos = ["cat", "dog", "car", "not-cat"]
    result = wv.nearest(vectors, itos, "cat", k=3)
    assert [w for w, _ in result] == ["dog", "car", "not-cat"]
    assert result[0][1] == pytest.approx(0.9 / (0.81 + 0.01) ** 0.5)
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        wv.nearest(vectors, itos, "zebra")
    with pytest.raises(ValueError, match="k must be"):
        wv.nearest(vectors, itos, "cat", k=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_size": 0}, "context_size"),
        ({"embed_dim": 0}, "embed_dim"),
        ({"hidden_dim": -1}, "hidden_dim"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"pad_id": 99}, "pad_id"),
    ],
)
def test_bad_sizes_are_clear_errors(kwargs, message):
    args = {"vocab_size": 10, "context_size": 2, "embed_dim": 3, "hidden_dim": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        nnlm.NNLM(**args)


def test_ids_must_be_batch_by_time():
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        nnlm.NNLM(10, 2, 3, 4)(torch.tensor([1, 2, 3]))


def test_zoo_recipe_stores_the_embedding_the_vocabulary_and_the_record(cache, monkeypatch):
    tiny = {**profile.SETTINGS["neural_lm"]["quick"], "train_lines": 60, "valid_lines": 20,
            "train_tokens": 3_000, "embed_dim": 8, "hidden_dim": 16, "eval_every": 1_000}
    monkeypatch.setitem(profile.SETTINGS["neural_lm"], "quick", tiny)
    artefact = zoo.get("nnlm", profile.Profile("quick"))
    assert artefact.state["embedding"].shape == (lm.VOCAB_SIZE, 8)
    assert artefact.state["itos"] == lm.wikitext2_vocab().itos
    metrics = artefact.metrics
    assert metrics["test_tokens"] == lm.TEST_TOKENS and len(artefact.state["test_logprobs"]) == lm.TEST_TOKENS
    assert metrics["tokens_seen"] >= 3_000 and len(metrics["curve"]) == 3
    assert metrics["test_ppl"] == pytest.approx(lm.perplexity(artefact.state["test_logprobs"]))
    model = nnlm.load(artefact)
    assert torch.equal(model.body.embedding.weight, artefact.state["embedding"])
    again = lm.score(model, lm.wikitext2_ids("valid", 20))
    assert torch.allclose(again, artefact.state["valid_logprobs"], atol=1e-6)
