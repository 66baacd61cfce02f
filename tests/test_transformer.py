"""Tests of n2t.transformer: parity with torch.nn.Transformer, causality, padding, positions, KV cache, bad input."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch import nn

from n2t import decoding
from n2t.attention import causal_mask
from n2t.positions import LearnedPositions, PositionalEncoding, sinusoidal_table
from n2t.text import Vocab
from n2t.transformer import (
    Decoder,
    DecoderLayer,
    DecoderOnly,
    Encoder,
    EncoderLayer,
    EncoderOnly,
    FeedForward,
    Transformer,
    _load_layer,
)

D, H, FF = 32, 4, 64


def _vocabs() -> tuple[Vocab, Vocab]:
    src = Vocab(Counter({c: 5 for c in "我是一个学生你好吗。"}))
    tgt = Vocab(Counter({w: 5 for w in ["i", "am", "a", "student", "you", "are", "good", "how", "?", "."]}))
    return src, tgt


def _model(norm_first: bool = False, positions: str = "sinusoidal", seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    src, tgt = _vocabs()
    return Transformer(src, tgt, D, H, 2, 2, FF, dropout=0.0, norm_first=norm_first, positions=positions).eval()


def _masks(lengths: list[int], size: int) -> torch.Tensor:
    return torch.arange(size) < torch.tensor(lengths)[:, None]


# ------------------------------------------------------------------------------------- parity


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks_equal_torch_transformer(norm_first: bool) -> None:
    torch.manual_seed(0)
    theirs = nn.Transformer(D, H, 2, 3, FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    encoder = Encoder(2, D, H, FF, 0.0, norm_first, final_norm=True).load_torch_weights(theirs.encoder)
    decoder = Decoder(3, D, H, FF, 0.0, norm_first, final_norm=True).load_torch_weights(theirs.decoder)
    x, y = torch.randn(3, 7, D, requires_grad=True), torch.randn(3, 5, D, requires_grad=True)
    src_mask, tgt_mask = _masks([7, 4, 2], 7), _masks([5, 3, 5], 5)
    expected = theirs(
        x, y, src_key_padding_mask=~src_mask, tgt_mask=~causal_mask(5),
        tgt_key_padding_mask=~tgt_mask, memory_key_padding_mask=~src_mask,
    )
    memory = encoder(x, src_mask)
    ours = decoder(y, memory, tgt_mask, src_mask)
    assert (ours - expected).abs().max() < 1e-5
    # the gradients flow the same way: to the inputs, and to each copied weight
    weights = torch.randn_like(ours)
    their_grads = torch.autograd.grad((expected * weights)[tgt_mask].sum(), [x, y, theirs.decoder.layers[0].linear1.weight])
    our_grads = torch.autograd.grad((ours * weights)[tgt_mask].sum(), [x, y, decoder.layers[0].ffn.linear1.weight])
    for theirs_grad, our_grad in zip(their_grads, our_grads, strict=True):
        assert torch.allclose(our_grad, theirs_grad, atol=1e-5)
    x, y = x.detach(), y.detach()
    memory, ours = memory.detach(), ours.detach()
    with torch.no_grad():  # the check can fail: a different weight gives a different output
        theirs.decoder.layers[0].multihead_attn.in_proj_weight[0, 0] += 1.0
        changed = theirs(x, y, None, ~causal_mask(5), None, ~src_mask, ~tgt_mask, ~src_mask)
    assert (ours - changed).abs().max() > 1e-4
    # the encoder alone, at the real positions
    their_memory = theirs.encoder(x, src_key_padding_mask=~src_mask)
    assert torch.allclose(memory[src_mask], their_memory[src_mask], atol=1e-5)


def test_layers_equal_torch_layers_in_training_mode_without_dropout() -> None:
    torch.manual_seed(1)
    theirs = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    ours = DecoderLayer(D, H, FF, dropout=0.0)
    _load_layer(ours, theirs)
    y, memory = torch.randn(2, 4, D), torch.randn(2, 6, D)
    expected = theirs(y, memory, tgt_mask=~causal_mask(4))
    assert torch.allclose(ours(y, memory, causal_mask(4)[None, None])[0], expected, atol=1e-5)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_load_torch_weights_refuses_a_different_layout() -> None:
    theirs = nn.Transformer(D, H, 2, 2, FF, batch_first=True, norm_first=True)
    with pytest.raises(ValueError, match="norm_first"):
        Encoder(2, D, H, FF, norm_first=False, final_norm=True).load_torch_weights(theirs.encoder)
    with pytest.raises(ValueError, match="layers"):
        Encoder(3, D, H, FF, norm_first=True).load_torch_weights(theirs.encoder)
    with pytest.raises(ValueError, match="final LayerNorm"):
        Encoder(2, D, H, FF, norm_first=True, final_norm=False).load_torch_weights(theirs.encoder)


def test_feed_forward_is_position_wise() -> None:
    torch.manual_seed(0)
    ffn = FeedForward(D, FF, dropout=0.0)
    x = torch.randn(2, 5, D)
    one_by_one = torch.stack([ffn(x[:, t]) for t in range(5)], dim=1)
    assert torch.allclose(ffn(x), one_by_one, atol=1e-6)
    assert torch.allclose(ffn(x), ffn.linear2(torch.relu(ffn.linear1(x))))


# ------------------------------------------------------------------------------------- properties


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_output_at_t_ignores_later_target_tokens(norm_first: bool) -> None:
    model = _model(norm_first)
    src, lengths = torch.tensor([[4, 5, 6, 7, 8]]), torch.tensor([5])
    tgt = torch.tensor([[2, 4, 5, 6, 7, 8]])
    with torch.no_grad():
        base = model(src, lengths, tgt)
        for t in range(tgt.shape[1] - 1):
            changed = tgt.clone()
            changed[0, t + 1 :] = torch.randint(4, len(model.tgt_vocab), (tgt.shape[1] - t - 1,))
            assert torch.allclose(model(src, lengths, changed)[:, : t + 1], base[:, : t + 1], atol=1e-5)


def test_decoder_only_is_causal() -> None:
    torch.manual_seed(0)
    gpt = DecoderOnly(30, D, H, 2, FF, max_len=16, dropout=0.0).eval()
    ids = torch.randint(0, 30, (2, 10))
    with torch.no_grad():
        base = gpt(ids)
        for t in range(9):
            changed = ids.clone()
            changed[:, t + 1 :] = (changed[:, t + 1 :] + 1) % 30
            assert torch.allclose(gpt(changed)[:, : t + 1], base[:, : t + 1], atol=1e-5)
            assert not torch.allclose(gpt(changed)[:, t + 1 :], base[:, t + 1 :], atol=1e-5)
        # left padding: with the mask, the padded tokens' values never reach the real positions
        mask = (torch.arange(13) >= 3)[None].expand(2, -1)  # True = real token
        pad_a = torch.cat([torch.zeros(2, 3, dtype=torch.long), ids], dim=1)
        pad_b = torch.cat([torch.full((2, 3), 9), ids], dim=1)
        assert torch.allclose(gpt(pad_a, mask)[:, 3:], gpt(pad_b, mask)[:, 3:], atol=1e-5)
        assert not torch.allclose(gpt(pad_a)[:, 3:], gpt(pad_b)[:, 3:], atol=1e-5)


def test_encoder_only_sees_both_directions_and_ignores_padding() -> None:
    torch.manual_seed(0)
    bert = EncoderOnly(30, D, H, 2, FF, max_len=16, dropout=0.0, num_segments=2).eval()
    ids = torch.randint(4, 30, (1, 6))
    with torch.no_grad():
        base = bert(ids)
        later = ids.clone()
        later[0, 5] = (later[0, 5] + 1) % 30
        assert not torch.allclose(bert(later)[:, 0], base[:, 0], atol=1e-5)  # bidirectional
        padded = torch.cat([ids, torch.full((1, 3), 7)], dim=1)
        mask = _masks([6], 9)
        assert torch.allclose(bert(padded, mask)[:, :6], base, atol=1e-5)
        segments = torch.zeros_like(ids)
        assert bert(ids, segments=segments).shape == (1, 6, D)


@pytest.mark.parametrize("norm_first", [False, True])
def test_padded_source_token_never_changes_the_output(norm_first: bool) -> None:
    model = _model(norm_first)
    src = torch.tensor([[4, 5, 6, 0, 0], [4, 5, 6, 7, 8]])
    lengths = torch.tensor([3, 5])
    tgt = torch.tensor([[2, 4, 5], [2, 6, 7]])
    with torch.no_grad():
        base = model(src, lengths, tgt)
        other = src.clone()
        other[0, 3:] = torch.tensor([9, 10])  # different tokens in the padded positions
        assert torch.allclose(model(other, lengths, tgt), base, atol=1e-6)
        alone = model(src[:1, :3], lengths[:1], tgt[:1])  # same sentence without padding
        assert torch.allclose(alone, base[:1], atol=1e-5)


def test_sinusoidal_shift_is_a_rotation() -> None:
    d_model, k = 16, 7
    pe = sinusoidal_table(50, d_model)
    frequencies = 1.0 / 10000 ** (torch.arange(0, d_model, 2) / d_model)
    rotation = torch.zeros(d_model, d_model)
    for i, w in enumerate(frequencies):
        c, s = torch.cos(w * k), torch.sin(w * k)
        rotation[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])
    assert torch.allclose(pe[:-k] @ rotation, pe[k:], atol=1e-4)  # PE(pos + k) = PE(pos) M_k for every pos
    assert torch.allclose(rotation @ rotation.T, torch.eye(d_model), atol=1e-6)


def test_positional_encoding_values_and_offset() -> None:
    pe = PositionalEncoding(8)
    x = torch.zeros(1, 5, 8)
    table = pe(x)[0]
    assert torch.allclose(table[0], torch.tensor([0.0, 1.0] * 4))
    assert torch.isclose(table[3, 2], torch.sin(torch.tensor(3.0) / 10000 ** (2 / 8)))
    assert torch.allclose(pe(torch.zeros(1, 2, 8), offset=3)[0], table[3:5])
    assert pe(torch.zeros(1, 5000, 8)).shape == (1, 5000, 8)  # no length limit


# ------------------------------------------------------------------------------------- the KV cache


@pytest.mark.parametrize("norm_first", [False, True])
def test_cached_steps_equal_teacher_forcing(norm_first: bool) -> None:
    model = _model(norm_first)
    src, lengths = torch.tensor([[4, 5, 6, 0], [7, 8, 9, 10]]), torch.tensor([3, 4])
    tgt = torch.tensor([[2, 4, 5, 6, 7], [2, 8, 9, 5, 4]])
    with torch.no_grad():
        parallel = model(src, lengths, tgt).log_softmax(-1)
        for use_cache in (True, False):
            state = model.start(src, lengths, use_cache)
            for t in range(tgt.shape[1]):
                log_probs, state = model.step(tgt[:, t], state)
                assert torch.allclose(log_probs, parallel[:, t], atol=1e-5)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_cache_and_recomputation_decode_the_same(one_thread, beam_size: int) -> None:
    model = _model(seed=3)
    src, lengths = torch.tensor([[4, 5, 6, 0], [7, 8, 9, 10], [4, 4, 4, 4]]), torch.tensor([3, 4, 4])
    outputs = []
    for use_cache in (True, False):
        state = model.start(src, lengths, use_cache)
        bos, eos = model.tgt_vocab.bos_id, model.tgt_vocab.eos_id
        if beam_size == 1:
            outputs.append(decoding.greedy(model.step, state, bos, eos, 12))
        else:
            hyps = decoding.beam_search(model.step, state, bos, eos, 12, beam_size)
            outputs.append([[(h.tokens, round(h.log_prob, 4)) for h in row] for row in hyps])
    assert outputs[0] == outputs[1]
    sentences = ["我是一个学生。", "你好吗"]
    assert model.translate(sentences, beam_size=beam_size) == model.translate(sentences, beam_size, use_cache=False)


def test_decoder_refuses_a_target_padding_mask_with_caches() -> None:
    decoder = Decoder(2, D, H, FF, dropout=0.0)
    x, memory = torch.randn(2, 1, D), torch.randn(2, 3, D)
    decoder(x, memory, None, None, decoder.new_caches())  # step by step: no target padding
    with pytest.raises(ValueError, match=r"mask .*cannot be used with caches"):
        decoder(x, memory, torch.ones(2, 1, dtype=torch.bool), None, decoder.new_caches())


def test_step_does_not_change_the_state_it_was_given() -> None:
    model = _model()
    state = model.start(torch.tensor([[4, 5]]), torch.tensor([2]))
    first, after = model.step(torch.tensor([2]), state)
    again, _ = model.step(torch.tensor([2]), state)
    assert torch.equal(first, again) and state["position"] == 0 and after["position"] == 1


def test_decoder_only_generation_with_and_without_cache() -> None:
    torch.manual_seed(0)
    gpt = DecoderOnly(30, D, H, 2, FF, max_len=40, dropout=0.0, norm_first=True).eval()
    prompt = torch.randint(0, 30, (2, 5))
    cached = gpt.generate(prompt, 20, use_cache=True)
    recomputed = gpt.generate(prompt, 20, use_cache=False)
    assert torch.equal(cached, recomputed) and cached.shape == (2, 25)
    # start() may also read a whole prompt at once (several new positions in one call)
    with torch.no_grad():
        state = gpt.start(prompt)
        log_probs, _ = gpt.step(torch.tensor([3, 4]), state)
        full = gpt.logits(gpt(torch.cat([prompt, torch.tensor([[3], [4]])], dim=1)))[:, -1]
    assert torch.allclose(log_probs, full.log_softmax(-1), atol=1e-5)


# ------------------------------------------------------------------------------------- bad input


def test_d_model_not_divisible_by_heads() -> None:
    src, tgt = _vocabs()
    for make in (
        lambda: EncoderLayer(30, 4, 64),
        lambda: DecoderLayer(30, 4, 64),
        lambda: Transformer(src, tgt, 30, 4, 1, 1, 64),
        lambda: DecoderOnly(30, 30, 4, 1),
        lambda: EncoderOnly(30, 30, 4, 1),
    ):
        with pytest.raises(ValueError, match=r"d_model \(30\) must be divisible by num_heads \(4\)"):
            make()


def test_too_long_for_learned_positions_names_both_lengths() -> None:
    positions = LearnedPositions(8, D)
    with pytest.raises(ValueError, match=r"length 9 is longer than the learned-position table \(8 positions"):
        positions(torch.zeros(1, 9, D))
    with pytest.raises(ValueError, match=r"length 10 .*\(8 positions"):
        positions(torch.zeros(1, 4, D), offset=6)
    gpt = DecoderOnly(30, D, H, 1, max_len=8)
    with pytest.raises(ValueError, match="length 12"):
        gpt(torch.zeros(1, 12, dtype=torch.long))
    with pytest.raises(ValueError, match="even"):
        PositionalEncoding(7)


def test_masks_of_wrong_shape_or_dtype() -> None:
    encoder = Encoder(1, D, H, FF)
    decoder = Decoder(1, D, H, FF)
    x, memory = torch.randn(2, 5, D), torch.randn(2, 6, D)
    with pytest.raises(TypeError, match=r"torch\.bool"):
        encoder(x, torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"\(batch, time\) = \(2, 5\)"):
        encoder(x, torch.ones(2, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="memory_mask"):
        decoder(x, memory, None, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match="memory_mask"):
        decoder(x, memory, None, torch.ones(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="mask"):
        decoder(x, memory, torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="share the batch"):
        decoder(x, torch.randn(3, 6, D))


def test_other_bad_input() -> None:
    model = _model()
    with pytest.raises(ValueError, match="at least one token"):
        model(torch.tensor([[4, 5]]), torch.tensor([0]), torch.tensor([[2]]))
    with pytest.raises(ValueError, match="ids must be a long tensor"):
        model.tgt_embed(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="positions must be one of"):
        Transformer(*_vocabs(), D, H, 1, 1, FF, positions="rotary")
    with pytest.raises(ValueError, match="share_embeddings"):
        Transformer(*_vocabs(), D, H, 1, 1, FF, share_embeddings=True)
    with pytest.raises(ValueError, match="num_layers"):
        Encoder(0, D, H, FF)
    with pytest.raises(ValueError, match="segments"):
        EncoderOnly(30, D, H, 1)(torch.zeros(1, 3, dtype=torch.long), segments=torch.zeros(1, 3, dtype=torch.long))


def test_tied_and_shared_embeddings() -> None:
    src, _ = _vocabs()
    model = Transformer(src, src, D, H, 1, 1, FF, share_embeddings=True)
    assert model.src_embed is model.tgt_embed and model.out.weight is model.tgt_embed.token.weight
    untied = Transformer(*_vocabs(), D, H, 1, 1, FF, tie_output=False)
    assert untied.out.weight is not untied.tgt_embed.token.weight
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in untied.parameters())
