"""Tests of n2t.attention: parity with torch, the causal property, the masked-row policy, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from n2t.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention

ATOL, RTOL = 1e-5, 1e-4


def pair(embed_dim=16, num_heads=4, bias=True, kdim=None, vdim=None, seed=0):
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    if bias:  # torch initialises biases to zero; make them count
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    ours = MultiHeadAttention(embed_dim, num_heads, bias=bias, kdim=kdim, vdim=vdim)
    ours.load_torch_weights(theirs)
    return ours, theirs


# ------------------------------------------------------------------------------------------ masks


def test_causal_mask_is_lower_triangular():
    mask = causal_mask(4)
    assert mask.dtype == torch.bool and mask.shape == (4, 4)
    assert torch.equal(mask, torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool))


def test_padding_mask_shape_and_values():
    mask = padding_mask([3, 1], max_len=4)
    assert mask.shape == (2, 1, 1, 4) and mask.dtype == torch.bool
    assert mask[:, 0, 0].tolist() == [[True, True, True, False], [True, False, False, False]]
    assert padding_mask(torch.tensor([2, 3])).shape == (2, 1, 1, 3)


# ------------------------------------------------------------------------- scaled dot-product attention


@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_matches_torch(masked):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 6)
    mask = torch.rand(2, 1, 5, 7) > 0.3 if masked else None
    if mask is not None:
        mask[..., 0] = True  # no fully masked rows: torch's own policy for those differs between backends
    ours, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, expected, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    if mask is not None:
        assert (weights.masked_select(~mask.expand_as(weights)) == 0).all()


def test_sdpa_unbatched_shapes():
    out, weights = scaled_dot_product_attention(torch.randn(4, 8), torch.randn(6, 8), torch.randn(6, 3))
    assert out.shape == (4, 3) and weights.shape == (4, 6)


def test_sdpa_worked_example():
    q = torch.ones(1, 64)
    k = torch.stack([torch.full((64,), 1.75), torch.full((64,), 1.5)])  # q·k = 112 and 96
    _, weights = scaled_dot_product_attention(q, k, torch.eye(2))
    torch.testing.assert_close(weights, torch.tensor([[0.8808, 0.1192]]), atol=1e-4, rtol=0)


def test_fully_masked_row_gives_zeros_without_nan():
    torch.manual_seed(0)
    q = torch.randn(1, 3, 4, requires_grad=True)
    k = torch.randn(1, 5, 4, requires_grad=True)
    v = torch.randn(1, 5, 2, requires_grad=True)
    mask = torch.ones(1, 3, 5, dtype=torch.bool)
    mask[0, 1] = False  # query 1 may attend to nothing
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.equal(weights[0, 1], torch.zeros(5)) and torch.equal(out[0, 1], torch.zeros(2))
    (out.sum() + weights.sum()).backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all()
    assert torch.equal(q.grad[0, 1], torch.zeros(4))


def test_sdpa_dropout_zero_is_deterministic_and_dropout_drops():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 6, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    a, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    b, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    assert torch.equal(a, b)
    out, weights = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert (weights == 0).any()
    torch.testing.assert_close(out, weights @ v)


# ------------------------------------------------------------------------------- MultiHeadAttention


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_torch_without_mask(bias, need_weights):
    ours, theirs = pair(bias=bias)
    torch.manual_seed(1)
    q, kv = torch.randn(3, 5, 16), torch.randn(3, 7, 16)
    out, weights = ours(q, kv, kv, need_weights=need_weights)
    expected, expected_weights = theirs(q, kv, kv, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)
    if need_weights:
        torch.testing.assert_close(weights, expected_weights, atol=ATOL, rtol=RTOL)
    else:
        assert weights is None


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_torch_with_causal_and_padding_masks(need_weights):
    ours, theirs = pair()
    torch.manual_seed(2)
    x = torch.randn(3, 6, 16)
    lengths = torch.tensor([6, 4, 2])
    keep = padding_mask(lengths, 6)  # (batch, 1, 1, 6), True = may attend
    out, weights = ours(x, x, x, mask=keep, is_causal=True, need_weights=need_weights)
    # torch's masks mean the opposite: True = may NOT attend.
    expected, expected_weights = theirs(
        x, x, x, key_padding_mask=~keep[:, 0, 0], attn_mask=~causal_mask(6), average_attn_weights=False
    )
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)
    if need_weights:
        torch.testing.assert_close(weights, expected_weights, atol=ATOL, rtol=RTOL)


def test_mha_matches_torch_with_per_head_mask():
    ours, theirs = pair()
    torch.manual_seed(3)
    q, kv = torch.randn(2, 4, 16), torch.randn(2, 5, 16)
    mask = torch.rand(2, 4, 4, 5) > 0.4
    mask[..., 2] = True  # keep every row non-empty (torch gives NaN for empty rows)
    out, _ = ours(q, kv, kv, mask=mask)
    expected, _ = theirs(q, kv, kv, attn_mask=~mask.reshape(8, 4, 5), need_weights=False)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)


def test_mha_matches_torch_with_kdim_vdim():
    ours, theirs = pair(embed_dim=12, num_heads=3, kdim=5, vdim=7)
    torch.manual_seed(4)
    q, k, v = torch.randn(2, 3, 12), torch.randn(2, 4, 5), torch.randn(2, 4, 7)
    out, _ = ours(q, k, v)
    expected, _ = theirs(q, k, v)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("is_causal", [False, True])
def test_mha_both_paths_agree_with_gradients(is_causal):
    torch.manual_seed(5)
    model = MultiHeadAttention(16, 4)
    x = torch.randn(2, 6, 16, requires_grad=True)
    mask = padding_mask([6, 3], 6)
    grads = []
    outputs = []
    for need_weights in (True, False):
        x.grad = None
        model.zero_grad()
        out, _ = model(x, x, x, mask=mask, is_causal=is_causal, need_weights=need_weights)
        out.pow(2).sum().backward()
        outputs.append(out.detach())
        grads.append([x.grad.clone()] + [p.grad.clone() for p in model.parameters()])
    torch.testing.assert_close(outputs[0], outputs[1], atol=ATOL, rtol=RTOL)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)
    for g in grads[1]:
        assert torch.isfinite(g).all() and g.abs().sum() > 0


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_fully_masked_rows_are_zero_in_both_paths(need_weights):
    torch.manual_seed(6)
    model = MultiHeadAttention(8, 2, bias=False)
    x = torch.randn(2, 4, 8, requires_grad=True)
    mask = torch.ones(2, 1, 4, 4, dtype=torch.bool)
    mask[0, 0, 2] = False  # in sequence 0, query 2 may attend to nothing
    out, weights = model(x, x, x, mask=mask, need_weights=need_weights)
    assert torch.equal(out[0, 2], torch.zeros(8))  # no bias: zero heads project to zero
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    if need_weights:
        assert torch.equal(weights[0, :, 2], torch.zeros(2, 4))


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_fully_masked_query_outputs_zero_not_the_bias(need_weights, is_causal):
    ours, theirs = pair(embed_dim=8, num_heads=2)  # with biases, so that out_proj's bias would show
    torch.manual_seed(10)
    x = torch.randn(2, 5, 8, requires_grad=True)
    if is_causal:  # left padding: the first two queries of sequence 0 may only see padding
        mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
        blind = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    else:  # query 3 of sequence 1 may attend to nothing
        mask = torch.ones(2, 1, 5, 5, dtype=torch.bool)
        mask[1, 0, 3] = False
        blind = torch.zeros(2, 5, dtype=torch.bool)
        blind[1, 3] = True
    out, weights = ours(x, x, x, mask=mask, is_causal=is_causal, need_weights=need_weights)
    assert torch.equal(out[blind], torch.zeros(int(blind.sum()), 8))
    assert (out[~blind].abs().sum(-1) > 0).all()
    if need_weights:
        assert torch.equal(weights.transpose(1, 2)[blind], torch.zeros(int(blind.sum()), 2, 5))
    with torch.no_grad():  # rows that see a key agree with torch's layer (torch gives NaN for the others)
        torch_mask = ~causal_mask(5) if is_causal else ~mask[:, 0].repeat_interleave(2, dim=0)
        padding = ~mask[:, 0, 0] if is_causal else None
        expected, _ = theirs(x, x, x, key_padding_mask=padding, attn_mask=torch_mask, need_weights=False)
    torch.testing.assert_close(out[~blind], expected[~blind], atol=ATOL, rtol=RTOL)
    upstream = torch.randn_like(out)
    out.backward(upstream)
    for tensor in (x, *ours.parameters()):
        assert torch.isfinite(tensor.grad).all()
    # No gradient flows back through a blind row: out_proj's bias only hears the other rows.
    torch.testing.assert_close(ours.out_proj.bias.grad, upstream[~blind].sum(0))


def test_mha_query_blind_in_one_head_only_keeps_the_other_head():
    torch.manual_seed(11)
    model = MultiHeadAttention(8, 2)
    x = torch.randn(1, 4, 8)
    mask = torch.ones(1, 2, 4, 4, dtype=torch.bool)
    mask[0, 0, 1] = False  # query 1 sees nothing in head 0, everything in head 1
    explicit, weights = model(x, x, x, mask=mask, need_weights=True)
    fused, _ = model(x, x, x, mask=mask)
    torch.testing.assert_close(explicit, fused, atol=ATOL, rtol=RTOL)
    assert torch.equal(weights[0, 0, 1], torch.zeros(4))
    head_1 = weights[0, 1, 1] @ model.v_proj(x)[0, :, 4:]  # head 1's output for query 1
    by_hand = model.out_proj(torch.cat([torch.zeros(4), head_1]))  # head 0 contributes zeros
    torch.testing.assert_close(explicit[0, 1], by_hand, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("need_weights", [True, False])
def test_causal_model_earlier_outputs_never_change_when_a_later_token_changes(need_weights):
    torch.manual_seed(7)
    model = MultiHeadAttention(16, 4).eval()
    x = torch.randn(1, 10, 16)
    base, _ = model(x, x, x, is_causal=True, need_weights=need_weights)
    for t in range(10):
        changed = x.clone()
        changed[0, t] = torch.randn(16) * 10
        out, _ = model(changed, changed, changed, is_causal=True, need_weights=need_weights)
        torch.testing.assert_close(out[0, :t], base[0, :t], atol=1e-6, rtol=0)
        assert not torch.allclose(out[0, t:], base[0, t:])


def test_permuting_tokens_permutes_outputs():
    torch.manual_seed(8)
    model = MultiHeadAttention(16, 4).eval()
    x = torch.randn(1, 6, 16)
    perm = torch.randperm(6)
    out, _ = model(x, x, x)
    out_perm, _ = model(x[:, perm], x[:, perm], x[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm], atol=ATOL, rtol=RTOL)


def test_mha_dropout_only_in_training():
    torch.manual_seed(9)
    model = MultiHeadAttention(16, 4, dropout=0.5)
    x = torch.randn(2, 5, 16)
    model.eval()
    a, _ = model(x, x, x)
    b, _ = model(x, x, x)
    assert torch.equal(a, b)
    model.train()
    c, _ = model(x, x, x)
    assert not torch.allclose(a, c)


def test_mha_submodules_are_linear():
    model = MultiHeadAttention(16, 4, kdim=3, vdim=5)
    assert all(isinstance(getattr(model, n), nn.Linear) for n in ("q_proj", "k_proj", "v_proj", "out_proj"))
    assert model.k_proj.in_features == 3 and model.v_proj.in_features == 5 and model.head_dim == 4


# ---------------------------------------------------------------------------------------- bad input


def test_embed_dim_not_divisible_by_heads():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        MultiHeadAttention(10, 3)


def test_mismatched_embedding_sizes_name_the_shapes():
    model = MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match=r"query of shape \(2, 3, 12\).*embed_dim is 16"):
        model(torch.randn(2, 3, 12), torch.randn(2, 3, 16), torch.randn(2, 3, 16))
    with pytest.raises(ValueError, match=r"key of shape \(2, 3, 8\).*kdim is 16"):
        model(torch.randn(2, 3, 16), torch.randn(2, 3, 8), torch.randn(2, 3, 16))
    with pytest.raises(ValueError, match=r"same length"):
        model(torch.randn(2, 3, 16), torch.randn(2, 4, 16), torch.randn(2, 5, 16))
    with pytest.raises(ValueError, match=r"batch size"):
        model(torch.randn(2, 3, 16), torch.randn(3, 4, 16), torch.randn(3, 4, 16))
    with pytest.raises(ValueError, match=r"\(batch, length, 16\); got \(3, 16\)"):
        model(torch.randn(3, 16), torch.randn(3, 16), torch.randn(3, 16))
    with pytest.raises(ValueError, match=r"d_k"):
        scaled_dot_product_attention(torch.randn(3, 4), torch.randn(3, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"share L_k"):
        scaled_dot_product_attention(torch.randn(3, 4), torch.randn(3, 4), torch.randn(2, 4))


def test_mask_that_does_not_broadcast_names_the_shapes():
    model = MultiHeadAttention(16, 4)
    x = torch.randn(2, 5, 16)
    with pytest.raises(ValueError, match=r"mask must be 4-D, broadcasting to .*\(2, 4, 5, 5\); got shape \(2, 5\)"):
        model(x, x, x, mask=torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 1, 1, 5\)"):
        model(x, x, x, mask=torch.ones(3, 1, 1, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must be 4-D.*got shape \(1, 1, 2, 4, 5, 5\)"):
        model(x, x, x, mask=torch.ones(1, 1, 2, 4, 5, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask of shape \(4, 4\) does not broadcast"):
        scaled_dot_product_attention(torch.randn(3, 8), torch.randn(4, 8), torch.randn(4, 8), mask=causal_mask(4))
    with pytest.raises(ValueError, match=r"is_causal needs"):
        model(x, torch.randn(2, 6, 16), torch.randn(2, 6, 16), is_causal=True)


def test_a_padding_mask_of_batch_equal_to_l_q_is_refused_not_read_as_l_q_by_l_k():
    # (batch, L_k) with batch == L_q broadcast as (L_q, L_k): sentence b's padding hid keys from query b of every
    # sentence (issue 22). Only the 4-D form is accepted; the 4-D form hides sentence 1's padding from it alone.
    torch.manual_seed(12)
    model = MultiHeadAttention(8, 2)
    x = torch.randn(3, 3, 8)
    pad = padding_mask([3, 1, 2])  # (3, 1, 1, 3)
    with pytest.raises(ValueError, match=r"mask\[:, None, None, :\]"):
        model(x, x, x, mask=pad[:, 0, 0])  # (batch=3, L_k=3), L_q = 3
    _, weights = model(x, x, x, mask=pad, need_weights=True)
    assert torch.equal(weights[1, :, :, 1:], torch.zeros(2, 3, 2))  # sentence 1 never looks at its padding
    assert torch.equal(weights[0] > 0, torch.ones(2, 3, 3, dtype=torch.bool))  # sentence 0 has none


def test_a_per_sequence_mask_of_batch_equal_to_heads_is_refused_not_read_per_head():
    # (batch, L_q, L_k) with batch == heads was read as (heads, L_q, L_k): each head got another sentence's mask.
    torch.manual_seed(13)
    model = MultiHeadAttention(8, 2)
    x = torch.randn(2, 4, 8)
    per_sequence = torch.rand(2, 4, 4) > 0.3
    per_sequence[..., 0] = True
    with pytest.raises(ValueError, match=r"mask\[:, None\]"):
        model(x, x, x, mask=per_sequence)
    _, weights = model(x, x, x, mask=per_sequence[:, None], need_weights=True)
    for b in range(2):
        for h in range(2):
            assert torch.equal(weights[b, h] > 0, per_sequence[b])


@pytest.mark.parametrize("need_weights", [True, False])
def test_a_query_holding_nan_gives_nan_on_both_paths(need_weights):
    # torch's fused kernel returns zeros for a NaN query row, and the layer then added out_proj's bias: a finite,
    # plausible answer on the default path and NaN on the other (issue 22).
    torch.manual_seed(14)
    model = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    query = torch.randn(2, 2, 8)
    query[0, 1] = float("nan")
    query[1, 0, 3] = float("inf")
    for mask in (None, padding_mask([3, 2])):
        out, _ = model(query, x, x, mask=mask, need_weights=need_weights)
        assert out[0, 1].isnan().all() and out[1, 0].isnan().all()
        assert torch.isfinite(out[0, 0]).all() and torch.isfinite(out[1, 1]).all()


def test_wrong_dtypes_are_clear_errors():
    model = MultiHeadAttention(16, 4)
    x = torch.randn(2, 5, 16)
    with pytest.raises(TypeError, match=r"mask must have dtype torch.bool \(True = may attend\); got torch.float32"):
        model(x, x, x, mask=torch.ones(5, 5))
    with pytest.raises(TypeError, match=r"module's dtype torch.float32; got torch.float64"):
        model(x.double(), x.double(), x.double())
    with pytest.raises(TypeError, match=r"floating-point"):
        scaled_dot_product_attention(torch.ones(2, 4, dtype=torch.long), torch.ones(2, 4, dtype=torch.long),
                                     torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match=r"mask must be a torch.Tensor"):
        scaled_dot_product_attention(torch.randn(2, 4), torch.randn(2, 4), torch.randn(2, 4), mask=[[True, True]] * 2)


def test_load_torch_weights_refuses_a_differently_shaped_layer():
    theirs = nn.MultiheadAttention(16, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"cannot copy weights: .* is \(16, 4, 16, 16, True\) for torch's layer but \(16, 2, 16, 16, True\)"):
        MultiHeadAttention(16, 2).load_torch_weights(theirs)
    with pytest.raises(ValueError, match="cannot copy weights"):
        MultiHeadAttention(16, 4, bias=False).load_torch_weights(theirs)


@pytest.mark.parametrize("extra", [{"add_bias_kv": True}, {"add_zero_attn": True}])
def test_load_torch_weights_refuses_extra_keys_that_would_break_parity(extra):
    theirs = nn.MultiheadAttention(16, 4, batch_first=True, **extra)
    with pytest.raises(ValueError, match=r"add_bias_kv=True or add_zero_attn=True"):
        MultiHeadAttention(16, 4).load_torch_weights(theirs)
    with pytest.raises(TypeError, match=r"theirs must be a torch.nn.MultiheadAttention; got Linear"):
        MultiHeadAttention(16, 4).load_torch_weights(nn.Linear(16, 16))


@pytest.mark.parametrize(("kwargs", "name"), [({"kdim": -1}, "kdim"), ({"vdim": 0}, "vdim"),
                                              ({"embed_dim": "8"}, "embed_dim"), ({"num_heads": 2.0}, "num_heads")])
def test_layer_sizes_must_be_positive_integers(kwargs, name):
    arguments = {"embed_dim": 8, "num_heads": 2, **kwargs}
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer"):
        MultiHeadAttention(**arguments)


# ------------------------------------------------------------------------------------- the key/value cache


def test_a_self_attention_cache_decodes_as_the_causal_layer_computes():
    from n2t.attention import KVCache

    torch.manual_seed(0)
    layer = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 6, 16)
    full, _ = layer(x, x, x, is_causal=True)
    cache = KVCache()
    first, _ = layer(x[:, :3], x[:, :3], x[:, :3], cache=cache)  # a prefix of 3 at once: causal inside
    steps = [layer(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], cache=cache)[0] for t in range(3, 6)]
    assert torch.allclose(torch.cat([first, *steps], dim=1), full, atol=1e-6)
    assert cache.keys.shape == (2, 4, 6, 4) and cache.values.shape == (2, 4, 6, 4)


def test_a_cross_attention_cache_projects_the_memory_once():
    from n2t.attention import KVCache

    torch.manual_seed(1)
    layer = MultiHeadAttention(8, 2).eval()
    queries, memory = torch.randn(3, 4, 8), torch.randn(3, 5, 8)
    keep = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] + [False] * 4])[:, None, None, :]
    expected, expected_weights = layer(queries, memory, memory, mask=keep, need_weights=True)
    cache = KVCache(static=True)
    outputs = [layer(queries[:, t : t + 1], memory, memory, mask=keep, cache=cache)[0] for t in range(4)]
    keys = cache.keys
    assert torch.allclose(torch.cat(outputs, dim=1), expected, atol=1e-6)
    layer(queries[:, :1], torch.zeros_like(memory), torch.zeros_like(memory), mask=keep, cache=cache)
    assert cache.keys is keys  # the memory's keys were not projected again
    out, weights = layer(queries, memory, memory, mask=keep, need_weights=True, cache=KVCache(static=True))
    assert torch.allclose(weights, expected_weights) and torch.allclose(out, expected, atol=1e-6)


def test_copied_caches_leave_the_original_state_alone():
    from n2t.attention import KVCache, copy_caches

    layer = MultiHeadAttention(8, 2).eval()
    x = torch.randn(1, 2, 8)
    caches = [{"self": KVCache(), "cross": KVCache(static=True)}]
    layer(x, x, x, cache=caches[0]["self"])
    copies = copy_caches(caches)
    layer(x[:, :1], x[:, :1], x[:, :1], cache=copies[0]["self"])
    assert caches[0]["self"].keys.shape[2] == 2 and copies[0]["self"].keys.shape[2] == 3
    assert copies[0]["cross"].static and copies[0]["cross"].keys is None


def test_a_cached_mask_must_cover_every_key():
    from n2t.attention import KVCache

    layer = MultiHeadAttention(8, 2).eval()
    x = torch.randn(1, 3, 8)
    cache = KVCache()
    layer(x, x, x, cache=cache)
    with pytest.raises(ValueError, match="does not broadcast"):
        layer(x[:, :1], x[:, :1], x[:, :1], mask=torch.ones(1, 1, 1, 3, dtype=torch.bool), cache=cache)
