"""n2t.pretrain: BERT's 80/10/10 masking on a large draw, T5's span corruption round trip, bad input."""

from __future__ import annotations

import pytest
import torch

from n2t import pretrain
from n2t.data import PAD, Vocab


def test_masking_follows_15_percent_and_80_10_10():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 1000, (400, 500), generator=generator)  # 200,000 tokens
    maskable = torch.rand(ids.shape, generator=generator) < 0.8  # the rest is padding
    inputs, targets = pretrain.mask_tokens(ids, 3, (10, 1000), maskable, generator=generator)
    chosen = targets != pretrain.IGNORE
    assert not (chosen & ~maskable).any()  # padding is never chosen
    assert torch.equal(targets[chosen], ids[chosen])  # the target is the original token
    assert torch.equal(inputs[~chosen], ids[~chosen])  # nothing else changes
    rate = chosen.sum() / maskable.sum()
    assert abs(rate - 0.15) < 0.005  # ~24,000 chosen: the standard error is ~0.0009
    n = chosen.sum()
    masked = (inputs[chosen] == 3).float().sum() / n
    kept = (inputs[chosen] == ids[chosen]).float().sum() / n  # includes random draws of the same id (0.1 %)
    changed = ((inputs[chosen] != 3) & (inputs[chosen] != ids[chosen])).float().sum() / n
    assert abs(masked - 0.8) < 0.015 and abs(kept - 0.1) < 0.01 and abs(changed - 0.1) < 0.01
    assert inputs[chosen & (inputs != 3)].min() >= 10  # random words come from the given range


def test_masking_is_reproducible_and_keeps_the_device_and_shape():
    ids = torch.arange(40).view(4, 10)
    a = pretrain.mask_tokens(ids, 99, (0, 40), generator=torch.Generator().manual_seed(1))
    b = pretrain.mask_tokens(ids, 99, (0, 40), generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) and x.shape == ids.shape for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("length", [2, 3, 10, 64, 257])
def test_span_corruption_round_trips(length):
    generator = torch.Generator().manual_seed(length)
    sentinels = list(range(1000, 1100))
    for _ in range(50):
        ids = torch.randint(0, 1000, (length,), generator=generator).tolist()
        inputs, targets = pretrain.corrupt_spans(ids, sentinels, eos_id=1, generator=generator)
        assert pretrain.restore_spans(inputs, targets, sentinels) == ids
        assert targets[-1] == 1
        spans = sum(t >= 1000 for t in inputs)  # one sentinel per dropped span
        dropped = len(targets) - spans - 2  # the sentinels, the last one and <eos> are not text
        assert dropped == min(max(round(length * 0.15), 1), length - 1)


def test_span_statistics_match_t5():
    generator = torch.Generator().manual_seed(0)
    runs = [pretrain.span_lengths(512, generator=generator) for _ in range(200)]
    dropped = [d for r in runs for _, d in r]
    assert all(sum(d for _, d in r) == round(512 * 0.15) for r in runs)  # exactly 15 % of the tokens
    assert all(min(k for k, _ in r) >= 1 and min(d for _, d in r) >= 1 for r in runs)  # non-empty runs
    assert abs(sum(dropped) / len(dropped) - 3.0) < 0.05  # mean span length 3


def test_pretrain_vocab_appends_and_keeps_every_old_id():
    vocab = Vocab(["b", "a", "a"], specials=("<unk>", "<eos>"))
    extended = pretrain.pretrain_vocab(vocab, sentinels=3)
    assert extended.itos[: len(vocab)] == vocab.itos
    assert extended.itos[len(vocab):] == [PAD, pretrain.MASK, "<extra_id_0>", "<extra_id_1>", "<extra_id_2>"]
    assert extended.pad_id == len(vocab) and extended["zzz"] == vocab.unk_id
    with pytest.raises(ValueError, match="must be new"):
        pretrain.extend_vocab(vocab, ["a"])


def test_bad_input_is_a_clear_error():
    ids = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="ids must have shape"):
        pretrain.mask_tokens(ids[0], 1, (0, 5))
    with pytest.raises(ValueError, match="rate"):
        pretrain.mask_tokens(ids, 1, (0, 5), rate=1.5)
    with pytest.raises(ValueError, match="split"):
        pretrain.mask_tokens(ids, 1, (0, 5), split=(0.5, 0.1, 0.1))
    with pytest.raises(ValueError, match="maskable"):
        pretrain.mask_tokens(ids, 1, (0, 5), maskable=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="random_ids"):
        pretrain.mask_tokens(ids, 1, (5, 5))
    with pytest.raises(ValueError, match="length must be at least 2"):
        pretrain.corrupt_spans([4], [9, 10], eos_id=1)
    with pytest.raises(ValueError, match="sentinel ids"):
        pretrain.corrupt_spans(list(range(100)), [9], eos_id=1)
