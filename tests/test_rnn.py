"""n2t.rnn: LSTM parity with nn.LSTM, the vanishing gradient, the LSTM body, the biLM's directions, ELMo's mix."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from n2t import elmo, lm, profile, rnn, zoo


@pytest.mark.parametrize(("layers", "batch", "time"), [(1, 1, 1), (1, 3, 7), (2, 4, 5), (3, 2, 9)])
def test_our_lstm_equals_nn_lstm_with_copied_weights(layers, batch, time, one_thread):
    torch.manual_seed(layers * 10 + time)
    theirs = nn.LSTM(5, 6, layers, batch_first=True)
    ours = rnn.copy_from_torch(rnn.LSTM(5, 6, layers), theirs)
    x = torch.randn(batch, time, 5)
    state = (torch.randn(layers, batch, 6), torch.randn(layers, batch, 6))
    for initial in (None, state):
        expected, (h, c) = theirs(x, initial)
        got, (h2, c2) = ours(x, initial)
        assert got.shape == (batch, time, 6) and h2.shape == (layers, batch, 6)
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(h2, h, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(c2, c, atol=1e-6, rtol=1e-5)


def test_our_lstm_gradients_equal_nn_lstm(one_thread):
    torch.manual_seed(1)
    theirs = nn.LSTM(4, 5, 2, batch_first=True)
    ours = rnn.copy_from_torch(rnn.LSTM(4, 5, 2), theirs)
    x = torch.randn(3, 6, 4)
    theirs(x)[0].pow(2).sum().backward()
    ours(x)[0].pow(2).sum().backward()
    for index, layer in enumerate(ours.layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            torch.testing.assert_close(
                getattr(layer.cell, name).grad, getattr(theirs, f"{name}_l{index}").grad, atol=1e-5, rtol=1e-4
            )


def test_cell_gates_by_hand():
    torch.manual_seed(2)
    cell = rnn.LSTMCell(3, 2)
    x, h, c = torch.randn(1, 3), torch.randn(1, 2), torch.randn(1, 2)
    z = cell.weight_ih @ x[0] + cell.bias_ih + cell.weight_hh @ h[0] + cell.bias_hh
    i, f, g, o = z[0:2].sigmoid(), z[2:4].sigmoid(), z[4:6].tanh(), z[6:8].sigmoid()
    c_new = f * c[0] + i * g
    h2, c2 = cell(x, (h, c))
    torch.testing.assert_close(c2[0], c_new)
    torch.testing.assert_close(h2[0], o * c_new.tanh())


def test_the_state_carries_across_windows(one_thread):
    torch.manual_seed(3)
    ours = rnn.LSTM(4, 5, 2)
    x = torch.randn(2, 10, 4)
    whole, _ = ours(x)
    first, state = ours(x[:, :6])
    second, _ = ours(x[:, 6:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


def test_copy_and_shapes_are_checked():
    with pytest.raises(ValueError, match="sizes differ"):
        rnn.copy_from_torch(rnn.LSTM(4, 5, 2), nn.LSTM(4, 5, 1, batch_first=True))
    with pytest.raises(ValueError, match="batch-first"):
        rnn.copy_from_torch(rnn.LSTM(4, 5), nn.LSTM(4, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 4\)"):
        rnn.LSTM(4, 5)(torch.randn(2, 3, 7))
    with pytest.raises(ValueError, match="state must be"):
        rnn.LSTM(4, 5, 2)(torch.randn(2, 3, 4), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5)))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        rnn.LSTMCell(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        rnn.LSTM(3, 4, 2, dropout=1.0)


def test_rnn_cell_equals_nn_rnncell():
    torch.manual_seed(4)
    theirs = nn.RNNCell(3, 4)
    ours = rnn.RNNCell(3, 4)
    ours.load_state_dict(theirs.state_dict())
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    torch.testing.assert_close(ours(x, h), theirs(x, h))


def test_gradient_vanishes_faster_in_a_vanilla_rnn(one_thread):
    torch.manual_seed(0)
    vanilla = rnn.gradient_by_distance(rnn.RNNCell(8, 32), 40)
    cell = rnn.LSTMCell(8, 32)
    with torch.no_grad():
        cell.bias_hh[32:64] = 1.0  # forget-gate bias 1
    lstm_norms = rnn.gradient_by_distance(cell, 40)
    assert vanilla.shape == lstm_norms.shape == (40,)
    assert (vanilla > 0).all() and (lstm_norms > 0).all()
    assert vanilla[30] / vanilla[0] < lstm_norms[30] / lstm_norms[0]


def test_gradient_by_distance_is_the_autograd_gradient():
    torch.manual_seed(5)
    cell = rnn.RNNCell(2, 3)
    norms = rnn.gradient_by_distance(cell, 1, batch=1, seed=7)
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(1, 1, 2, generator=generator)
    direction = torch.randn(3, generator=generator)
    pre = cell.weight_ih @ x[0, 0] + cell.bias_ih + cell.bias_hh
    grad = cell.weight_ih.T @ ((1 - pre.tanh() ** 2) * direction)
    assert math.isclose(float(norms[0]), float(grad.detach().norm()), rel_tol=1e-5)


def test_lstm_body_is_causal_and_both_impls_agree(one_thread):
    torch.manual_seed(6)
    torch_body = rnn.LSTMBody(30, 8, 2, impl="torch").eval()
    our_body = rnn.LSTMBody(30, 8, 2, impl="ours").eval()
    our_body.embedding.load_state_dict(torch_body.embedding.state_dict())
    rnn.copy_from_torch(our_body.lstm, torch_body.lstm)
    ids = torch.randint(0, 30, (2, 9))
    hidden, _ = torch_body(ids)
    torch.testing.assert_close(our_body(ids)[0], hidden, atol=1e-6, rtol=1e-5)
    changed = ids.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 30
    torch.testing.assert_close(torch_body(changed)[0][:, :5], hidden[:, :5])
    assert not torch.allclose(torch_body(changed)[0][:, 5], hidden[:, 5])
    with pytest.raises(ValueError, match="impl"):
        rnn.LSTMBody(30, 8, impl="cuda")


def _tiny_bilm() -> elmo.BiLM:
    torch.manual_seed(7)
    return elmo.BiLM(25, 6, num_layers=2, adaptive=False).eval()


def test_bilm_shares_embedding_and_softmax():
    model = _tiny_bilm()
    assert model.forward_lm.body.embedding is model.backward_lm.body.embedding is model.embedding
    assert model.forward_lm.head is model.backward_lm.head
    assert model.forward_lm.body.lstms[0] is not model.backward_lm.body.lstms[0]


@pytest.mark.parametrize("position", [0, 3, 7])
def test_each_direction_never_sees_the_token_it_predicts(position):
    model = _tiny_bilm()
    ids = torch.randint(0, 25, (3, 8))
    forward, backward = model.distributions(ids)
    assert forward.shape == backward.shape == (3, 8, 25)
    torch.testing.assert_close(forward.exp().sum(-1), torch.ones(3, 8))
    later = ids.clone()
    later[:, position:] = (later[:, position:] + 1 + torch.arange(8 - position)) % 25  # change t >= position
    f2, _ = model.distributions(later)
    torch.testing.assert_close(f2[:, : position + 1], forward[:, : position + 1])  # forward at t: tokens < t
    earlier = ids.clone()
    earlier[:, : position + 1] = (earlier[:, : position + 1] + 3) % 25  # change t <= position
    _, b3 = model.distributions(earlier)
    torch.testing.assert_close(b3[:, position:], backward[:, position:])  # backward at t: tokens > t
    if position < 7:
        assert not torch.allclose(f2[:, position + 1], forward[:, position + 1])
    if position > 0:
        assert not torch.allclose(b3[:, position - 1], backward[:, position - 1])


def test_backward_direction_is_a_forward_lm_on_the_reversed_text():
    model = _tiny_bilm()
    ids = torch.randint(0, 25, (1, 10))
    _, backward = model.distributions(ids)
    target_logp = backward[0].gather(1, ids[0, :, None])[:, 0]
    scored = lm.score(model.backward_lm, ids[0].flip(0)).float()
    torch.testing.assert_close(scored.flip(0), target_logp)


def test_layers_duplicate_the_embedding_and_respect_padding():
    model = _tiny_bilm()
    ids = torch.randint(0, 25, (2, 7))
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    layers = model.layers(ids, mask)
    assert layers.shape == (2, 3, 7, 12)
    embedded = model.embedding(ids)
    torch.testing.assert_close(layers[0, 0], torch.cat([embedded[0], embedded[0]], dim=-1))
    # the padded row's vectors are those of its 4 real tokens alone; the padding is zero
    alone = model.layers(ids[1:, :4])
    torch.testing.assert_close(layers[1, :, :4], alone[0])
    assert layers[1, :, 4:].abs().sum() == 0
    with pytest.raises(ValueError, match="mask must have the shape"):
        model.layers(ids, mask[:, :3])


def test_layers_read_each_text_after_the_boundary_token_as_the_lms_do():
    """The states ELMo takes are those the trained LMs predict from: each direction starts from <eos>."""
    model = _tiny_bilm()
    ids = torch.randint(2, 25, (2, 6))
    layers = model.layers(ids)  # (batch, 3, time, 2 dim)
    forward, backward = model.distributions(ids)
    head = model.forward_lm.head
    top_forward, top_backward = layers[:, -1, :, :6], layers[:, -1, :, 6:]
    # the forward state at token t predicts token t + 1; the backward state at t predicts token t − 1
    torch.testing.assert_close(head.log_prob(top_forward[:, :-1].reshape(-1, 6)), forward[:, 1:].reshape(-1, 25))
    torch.testing.assert_close(head.log_prob(top_backward[:, 1:].reshape(-1, 6)), backward[:, :-1].reshape(-1, 25))


def test_flip_padded():
    x = torch.arange(10).view(2, 5)
    flipped = elmo.flip_padded(x, torch.tensor([5, 3]))
    assert flipped.tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    assert torch.equal(elmo.flip_padded(flipped, torch.tensor([5, 3])), x)


def test_scalar_mix_weights_sum_to_one_and_follow_the_formula():
    torch.manual_seed(8)
    mix = elmo.ScalarMix(3)
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.3, -1.0, 2.0]))
        mix.gamma.fill_(1.7)
    assert math.isclose(float(mix.weights().sum()), 1.0, rel_tol=1e-6)
    layers = torch.randn(2, 3, 4, 5)
    s = torch.exp(mix.scalars) / torch.exp(mix.scalars).sum()
    expected = 1.7 * (s[0] * layers[:, 0] + s[1] * layers[:, 1] + s[2] * layers[:, 2])
    torch.testing.assert_close(mix(layers), expected)
    mix(layers).sum().backward()
    assert mix.scalars.grad is not None and mix.gamma.grad is not None
    with pytest.raises(ValueError, match=r"layers must have shape \(batch, 3, time, dim\)"):
        mix(torch.randn(2, 4, 4, 5))


def test_the_zoo_knows_the_chapter_6_artefacts():
    assert {"lstm-lm", "bilm"} <= set(zoo.names())
    for key in ("lm_tokens", "bilm_tokens", "hidden_dim", "bilm_dim"):
        assert key in profile.Profile("quick").settings("recurrent")


def test_lstm_lm_trains_and_scores_a_tiny_stream(one_thread):
    torch.manual_seed(9)
    model = lm.NeuralLM(rnn.LSTMBody(20, 8), 20, adaptive=False)
    ids = torch.randint(0, 20, (400,))
    before = lm.perplexity(lm.score(model, ids))
    log = lm.train_lm(model, ids, ids[:100], tokens=4000, batch_size=4, seq_len=10, lr=1e-2, warmup_steps=1)
    assert log.clock["tokens"] >= 4000
    assert lm.perplexity(lm.score(model, ids)) < before


def test_bilm_trains_both_directions(one_thread):
    torch.manual_seed(10)
    model = elmo.BiLM(20, 8, adaptive=False)
    ids = torch.arange(400) % 20  # a predictable text in both directions
    log = elmo.train_bilm(model, ids, ids[:100], tokens=6000, batch_size=4, seq_len=10, lr=1e-2)
    last = log.curve[-1]
    assert last["forward_valid_ppl"] < 10 and last["backward_valid_ppl"] < 10
    with pytest.raises(ValueError, match="tokens must be"):
        elmo.train_bilm(model, ids, ids, tokens=0)


def _tiny_wikitext_bilm() -> elmo.BiLM:
    torch.manual_seed(11)
    return elmo.BiLM(lm.VOCAB_SIZE, 16, num_layers=2).eval()


def test_elmo_encoder_follows_chapter_5s_protocol_and_mixes_the_layers():
    from n2t import classify

    bilm = _tiny_wikitext_bilm()
    encoder = elmo.ELMoEncoder(elmo.ELMoFeatures(bilm))
    classify.check_encoder(encoder)
    assert encoder.dim == 32 and len(encoder.vocab) == lm.VOCAB_SIZE
    assert [name for name, _ in encoder.named_parameters()] == ["mix.scalars", "mix.gamma"]  # the biLM is frozen
    assert not any(p.requires_grad for p in bilm.parameters())
    ids = torch.tensor([[5, 9, 2, 7], [3, 4, 0, 0]])
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    with torch.no_grad():
        encoder.mix.scalars.copy_(torch.tensor([0.5, -0.2, 1.0]))
        expected = encoder.mix(bilm.layers(ids, mask))
        got = encoder(ids, mask)
    torch.testing.assert_close(got, expected, atol=2e-3, rtol=2e-3)  # the cache holds float16
    assert got[1, 2:].abs().sum() == 0


def test_elmo_features_are_computed_once_and_shared_by_copies():
    import copy

    features = elmo.ELMoFeatures(_tiny_wikitext_bilm())
    encoder = elmo.ELMoEncoder(features)
    ids, mask = torch.tensor([[5, 9, 2]]), torch.ones(1, 3, dtype=torch.bool)
    encoder(ids, mask)
    assert list(features.cache) == [(5, 9, 2)]
    clone = copy.deepcopy(encoder)
    assert clone.features is features and clone.mix is not encoder.mix
    with torch.no_grad():
        clone.mix.gamma.fill_(2.0)
    assert float(encoder.mix.gamma) == 1.0
    torch.testing.assert_close(clone(ids, mask), 2 * encoder(ids, mask))
    assert len(features.cache) == 1
    with pytest.raises(TypeError, match="bilm must be"):
        elmo.ELMoFeatures(nn.LSTM(2, 2))
    with pytest.raises(ValueError, match="ids and mask"):
        features(ids, mask[:, :2])
