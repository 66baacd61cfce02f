"""n2t.pretrain: BERT's 80/10/10 masking on a large draw, T5's span corruption round trip, bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from n2t import data, lm, objectives, pretrain, profile, text, text2text, zoo
from n2t.text import PAD, Vocab


def test_masking_follows_15_percent_and_80_10_10():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 1000, (400, 500), generator=generator)  # 200,000 tokens
    maskable = torch.rand(ids.shape, generator=generator) < 0.8  # the rest is padding
    inputs, targets = objectives.mask_tokens(ids, 3, (10, 1000), maskable, generator=generator)
    chosen = targets != objectives.IGNORE
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
    a = objectives.mask_tokens(ids, 99, (0, 40), generator=torch.Generator().manual_seed(1))
    b = objectives.mask_tokens(ids, 99, (0, 40), generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) and x.shape == ids.shape for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("length", [2, 3, 10, 64, 257])
def test_span_corruption_round_trips(length):
    generator = torch.Generator().manual_seed(length)
    sentinels = list(range(1000, 1100))
    for _ in range(50):
        ids = torch.randint(0, 1000, (length,), generator=generator).tolist()
        inputs, targets = objectives.corrupt_spans(ids, sentinels, eos_id=1, generator=generator)
        assert objectives.restore_spans(inputs, targets, sentinels) == ids
        assert targets[-1] == 1
        spans = sum(t >= 1000 for t in inputs)  # one sentinel per dropped span
        dropped = len(targets) - spans - 2  # the sentinels, the last one and <eos> are not text
        assert dropped == min(max(round(length * 0.15), 1), length - 1)


def test_span_statistics_match_t5():
    generator = torch.Generator().manual_seed(0)
    runs = [objectives.span_lengths(512, generator=generator) for _ in range(200)]
    dropped = [d for r in runs for _, d in r]
    assert all(sum(d for _, d in r) == round(512 * 0.15) for r in runs)  # exactly 15 % of the tokens
    assert all(min(k for k, _ in r) >= 1 and min(d for _, d in r) >= 1 for r in runs)  # non-empty runs
    assert abs(sum(dropped) / len(dropped) - 3.0) < 0.05  # mean span length 3


def test_pretrain_vocab_appends_and_keeps_every_old_id():
    vocab = Vocab(["b", "a", "a"], specials=("<unk>", "<eos>"))
    extended = objectives.pretrain_vocab(vocab, sentinels=3)
    assert extended.itos[: len(vocab)] == vocab.itos
    assert extended.itos[len(vocab):] == [PAD, objectives.MASK, "<extra_id_0>", "<extra_id_1>", "<extra_id_2>"]
    assert extended.pad_id == len(vocab) and extended["zzz"] == vocab.unk_id
    with pytest.raises(ValueError, match="must be new"):
        objectives.extend_vocab(vocab, ["a"])


def test_bad_input_is_a_clear_error():
    ids = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="ids must have shape"):
        objectives.mask_tokens(ids[0], 1, (0, 5))
    with pytest.raises(ValueError, match="rate"):
        objectives.mask_tokens(ids, 1, (0, 5), rate=1.5)
    with pytest.raises(ValueError, match="split"):
        objectives.mask_tokens(ids, 1, (0, 5), split=(0.5, 0.1, 0.1))
    with pytest.raises(ValueError, match="maskable"):
        objectives.mask_tokens(ids, 1, (0, 5), maskable=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="random_ids"):
        objectives.mask_tokens(ids, 1, (5, 5))
    with pytest.raises(ValueError, match="length must be at least 2"):
        objectives.corrupt_spans([4], [9, 10], eos_id=1)
    with pytest.raises(ValueError, match="sentinel ids"):
        objectives.corrupt_spans(list(range(100)), [9], eos_id=1)
    # more spans than kept tokens to separate them: a clear error, not zip's
    with pytest.raises(ValueError, match=r"ask for 6 spans .* only 4 tokens are kept"):
        objectives.span_lengths(10, noise_density=0.6, mean_span=1.0)
    assert len(objectives.span_lengths(10, noise_density=0.5, mean_span=1.0)) == 5  # the most that fit


# ------------------------------------------------------------------------------------------ the models

CFG = {"d_model": 16, "num_heads": 2, "num_layers": 2, "d_ff": 32, "block_size": 8, "dropout": 0.0}


def tiny_gpt(vocab_size: int = 50) -> lm.NeuralLM:
    torch.manual_seed(0)
    body = pretrain.GPT(vocab_size, 16, 2, 2, 32, block_size=8, stride=3, dropout=0.0)
    return lm.NeuralLM(body, vocab_size, adaptive=False)


@pytest.mark.parametrize("training", [True, False])
def test_gpt_is_causal(training, one_thread):
    model = tiny_gpt()
    model.train(training)
    length = 8 if training else 23  # scoring slides its window over a longer text
    ids = torch.randint(0, 50, (2, length))
    hidden, _ = model.body(ids)
    for t in range(length - 1):
        changed = ids.clone()
        changed[:, t + 1 :] = torch.randint(0, 50, changed[:, t + 1 :].shape)
        again, _ = model.body(changed)
        assert torch.allclose(again[:, : t + 1], hidden[:, : t + 1], atol=1e-5), t


def test_gpt_scoring_slides_a_window_of_block_size_tokens(one_thread):
    model = tiny_gpt().eval()  # block 8, stride 3: chunks of 3 new tokens, each with the 5 before them
    ids = torch.randint(0, 50, (1, 20))
    with torch.no_grad():
        whole, state = model.body(ids)
        assert whole.shape == (1, 20, 16) and torch.equal(state, ids[:, -5:])  # block - stride tokens
        assert torch.allclose(whole[:, :8], model.body.net(ids[:, :8]), atol=1e-5)  # the first block
        # after it, chunks 8-10, 11-13, 14-16, 17-19: token 15 is read in the window of tokens 9-16
        assert torch.allclose(whole[:, 15], model.body.net(ids[:, 9:17])[:, 6], atol=1e-5)
        # the state carries the last 5 tokens into the next call: token 12 is read in the window 7-14
        _, carried = model.body(ids[:, :12])
        second, _ = model.body(ids[:, 12:], carried)
        assert torch.allclose(second[:, 0], model.body.net(ids[:, 7:15])[:, 5], atol=1e-5)
    scores = lm.score(model, ids[0], seq_len=6)
    assert scores.shape == (20,) and bool((scores < 0).all())


def test_gpt_states_its_context_as_numbers(one_thread):
    model = tiny_gpt()  # block 8, stride 3: a token past the first block reads 5 to 7 tokens before it
    assert model.context_range == (5, 7) and model.context_size == 7


def test_validation_loss_weights_batches_by_predicted_tokens():
    rows = torch.tensor([[1, 1], [1, 9], [4, 2]])  # column 0: the batch's mean loss, column 1: its predictions

    def loss_fn(model, batch, generator):
        return batch[:, 0].float().mean(), int(batch[:, 1].sum())

    model = torch.nn.Linear(1, 1)
    # batches of 2 rows: (mean 1 over 10 predictions), (mean 4 over 2): 12 predictions in all
    assert pretrain.valid_loss(model, loss_fn, rows, batch_size=2) == pytest.approx((1 * 10 + 4 * 2) / 12)
    assert model.training  # put back as it was


def test_gpt_sampling_with_the_cache_equals_recomputation(one_thread):
    model = tiny_gpt().eval()
    prompt = [5, 7, 9]
    greedy = pretrain.generate(model, prompt, 5, greedy=True)
    ids = list(prompt)
    for _ in range(len(greedy)):
        with torch.no_grad():
            logp, _ = model.next_token_logprobs(torch.tensor([ids]))
        ids.append(int(logp[0, -1].argmax()))
    assert ids[len(prompt) :][: len(greedy)] == greedy
    a = pretrain.generate(model, prompt, 5, temperature=0.7, top_k=5, seed=3)
    assert a == pretrain.generate(model, prompt, 5, temperature=0.7, top_k=5, seed=3)
    with pytest.raises(ValueError, match="exceeds block_size"):
        pretrain.generate(model, prompt, 6)
    with pytest.raises(ValueError, match="more than block_size"):
        model.train()(torch.zeros(1, 9, dtype=torch.long), torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="stride"):
        pretrain.GPT(50, 16, 2, 2, 32, block_size=8, stride=9)


def small_vocab() -> Vocab:
    words = Vocab([f"w{i}" for i in range(30) for _ in range(30 - i)], specials=("<unk>", "<eos>"))
    return objectives.pretrain_vocab(words, sentinels=10)


def test_bert_loss_counts_only_the_chosen_positions_and_sees_both_sides(one_thread):
    vocab = small_vocab()
    torch.manual_seed(0)
    bert = pretrain.BERT(vocab, 32, 16, 2, 2, 32, block_size=12, dropout=0.0, adaptive=False).eval()
    rows = torch.randint(2, 32, (4, 12))
    inputs, targets = objectives.mask_batch(rows, vocab, 32, 0.3, torch.Generator().manual_seed(0))
    loss = bert.loss(inputs, targets)
    chosen = targets != objectives.IGNORE
    hidden = bert.encoder(inputs)
    expected = -bert.head.target_logprob(hidden[chosen], targets[chosen]).mean()
    assert torch.allclose(loss, expected)
    same, predicted = pretrain.bert_loss(0.3)(bert, rows, torch.Generator().manual_seed(0))
    assert torch.allclose(same, expected) and predicted == int(chosen.sum())  # the mean, and over how many
    changed = rows.clone()
    changed[:, -1] = (changed[:, -1] + 1 - 2) % 30 + 2  # a later token changes an earlier vector
    assert not torch.allclose(bert.encoder(changed)[:, 0], bert.encoder(rows)[:, 0])
    with pytest.raises(ValueError, match="more than block_size"):
        bert.loss(torch.zeros(1, 13, dtype=torch.long), torch.zeros(1, 13, dtype=torch.long))


def test_bert_and_t5_losses_over_no_token_are_clear_errors(one_thread):
    # With nothing chosen the mean over no token was NaN, and training then stopped with "loss became nan …
    # lower the learning rate", blaming the wrong thing (issue 22).
    vocab = small_vocab()
    torch.manual_seed(0)
    bert = pretrain.BERT(vocab, 32, 16, 2, 2, 32, block_size=12, dropout=0.0, adaptive=False)
    rows = torch.randint(2, 32, (2, 12))
    with pytest.raises(ValueError, match=r"no position is chosen \(every target is IGNORE\)"):
        bert.loss(rows, torch.full_like(rows, objectives.IGNORE))
    t5 = pretrain.T5(vocab, 16, 2, 2, 32, block_size=16, dropout=0.0, adaptive=False, words=32)
    mask = torch.ones_like(rows, dtype=torch.bool)
    with pytest.raises(ValueError, match="tgt_mask selects no target token"):
        t5.loss(rows, mask, rows, torch.zeros_like(mask))


def test_bert_masking_refuses_a_vocabulary_without_mask():
    # vocab["<mask>"] falls back to <unk>: with the WikiText-2 vocabulary every masked input silently became <unk>.
    words = Vocab(["a", "b", "c"], specials=(text.UNK, text.EOS))
    rows = torch.randint(2, 5, (2, 6))
    with pytest.raises(ValueError, match="vocab has no <mask> token"):
        objectives.mask_batch(rows, words, 5, 0.5, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="split must be three probabilities"):
        objectives.mask_tokens(rows, 1, (2, 5), split=(float("nan"), 0.5, 0.5))
    with pytest.raises(ValueError, match="mask_id must be a token id"):
        objectives.mask_tokens(rows, -5, (2, 5))


def test_t5_learns_and_its_cached_decoder_equals_teacher_forcing(one_thread):
    vocab = small_vocab()
    torch.manual_seed(0)
    t5 = pretrain.T5(vocab, 16, 2, 2, 32, block_size=16, dropout=0.0, adaptive=False, words=32)
    rows = torch.randint(2, 32, (8, 16))
    loss_fn = pretrain.t5_loss(0.15, 3.0)
    generator = torch.Generator().manual_seed(0)
    src, tgt = objectives.span_batch(rows, vocab, 0.15, 3.0, generator)
    assert all(objectives.restore_spans(s, t, [vocab[objectives.sentinel(k)] for k in range(10)]) == r
               for s, t, r in zip(src.tolist(), tgt.tolist(), rows.tolist(), strict=True))
    before, predicted = loss_fn(t5, rows, torch.Generator().manual_seed(1))
    assert predicted == tgt.numel()  # every target token is predicted
    before = before.item()
    optimizer = torch.optim.Adam(t5.parameters(), lr=1e-2)
    for _ in range(30):
        loss, _ = loss_fn(t5, rows, torch.Generator().manual_seed(1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < before - 1.0
    t5.eval()
    mask = torch.ones_like(src, dtype=torch.bool)
    state = t5.start(src, mask)
    start = torch.full_like(tgt[:, :1], vocab.pad_id)
    tgt_in = torch.cat([start, tgt[:, :-1]], dim=1)
    with torch.no_grad():
        forced = t5.decoder(t5.embed(tgt_in), state["memory"], None, mask)
        for t in range(tgt.shape[1]):
            logp, state = t5.step(tgt_in[:, t], state)
            assert torch.allclose(logp, t5.head.log_prob(forced[:, t])[:, t5.head_index], atol=1e-4)


def test_t5_head_order_puts_the_appended_tokens_after_the_specials():
    vocab = small_vocab()  # 32 words (2 specials first), then <pad>, <mask>, 10 sentinels
    t5 = pretrain.T5(vocab, 16, 2, 1, 32, block_size=8, adaptive=False, words=32)
    assert sorted(t5.head_index.tolist()) == list(range(len(vocab)))  # a permutation
    assert t5.head_index[:2].tolist() == [0, 1] and t5.head_index[32:].tolist() == list(range(2, 14))
    assert t5.head_index[2:32].tolist() == list(range(14, 44))


def test_text_to_text_scores_count_a_non_label_output_as_wrong():
    labels = [7, 9]
    targets = torch.tensor([0, 0, 1, 1])
    perfect = text2text.text_to_text_scores([[7], [7], [9], [9]], labels, targets)
    assert perfect == {"macro_f1": 1.0, "accuracy": 1.0, "invalid": 0}
    scores = text2text.text_to_text_scores([[7], [7, 7], [9], []], labels, targets)
    assert scores["invalid"] == 2 and scores["accuracy"] == 0.5
    # class 0: tp 1, fn 1 → F1 2/3; class 1: tp 1, fn 1 → 2/3 (an invalid output is no false positive)
    assert scores["macro_f1"] == pytest.approx(2 / 3)


def test_blocks_and_curve_settings():
    stream = torch.arange(10)
    assert torch.equal(objectives.blocks(stream, 4), torch.arange(8).view(2, 4))
    with pytest.raises(ValueError, match="at least block_size"):
        objectives.blocks(torch.arange(3), 4)
    settings = pretrain.transfer_settings(block_size=16, seeds=1)
    transfer = profile.current().settings("transfer")
    assert settings.seeds == transfer.seeds[:1] and settings.sizes == transfer.sizes
    assert settings.max_len == min(transfer.max_len, 16)


def test_label_words_must_be_in_the_vocabulary():
    vocab = small_vocab()
    task = data.TextTask(
        "toy", ("w1", "w2"), *[(data.Example("a", "w1"), data.Example("b", "w2"))] * 3
    )
    assert text2text.label_word_ids(task, vocab) == [vocab["w1"], vocab["w2"]]
    other = data.TextTask("toy", ("yes", "no"), *[(data.Example("a", "yes"), data.Example("b", "no"))] * 3)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        text2text.label_word_ids(other, vocab)
    assert set(pretrain.LABEL_WORDS) <= set(pretrain.model_vocab().stoi)


def english_vocab() -> Vocab:
    words = ["the", ".", "I", "'m", "fine", "Tom", "is", "here", "did", "?", "you", "go", *text2text.TRANSLATE_PREFIX]
    counts = {w: 100 - i for i, w in enumerate(words)}
    return objectives.pretrain_vocab(Vocab(Counter(counts), specials=("<unk>", "<eos>")), sentinels=4)


def test_translation_tokens_use_the_prefix_the_vocabulary_s_case_and_the_block():
    vocab = english_vocab()
    [(source, target)] = text2text.translation_tokens([("你去吗？", "Did you go?")], vocab, block_size=8)
    assert source == [*text2text.TRANSLATE_PREFIX, "你", "去", "吗"]  # cut to the block
    assert target == ["did", "you", "go", "?"]  # "Did" is not a word of the vocabulary, "did" is
    assert text.wikitext_tokenize("I'm Tom.", lower=False) == ["I", "'m", "Tom", "."]
    [(_, short)] = text2text.translation_tokens([("我", "I'm fine. I'm fine.")], vocab, block_size=4)
    assert short == ["I", "'m", "fine"]  # room for <eos>


def test_t5_translator_keeps_the_pretrained_rows_and_learns_to_translate(one_thread):
    vocab = english_vocab()
    torch.manual_seed(0)
    t5 = pretrain.T5(vocab, 16, 2, 1, 32, block_size=16, dropout=0.0, adaptive=False)
    pretrained = t5.embed.token.weight.detach().clone()
    model = text2text.T5Translator(t5, ["我", "很", "好", "汤", "姆", "在", "这", "里"])
    assert len(model.src_vocab) == len(vocab) + 8 and model.tgt_vocab.bos_id == vocab.pad_id
    assert torch.equal(model.t5.embed.token.weight[: len(vocab)], pretrained)
    assert model.src_vocab.encode(model.tokenize_source("我很好"))[-3:] == [len(vocab), len(vocab) + 1,
                                                                             len(vocab) + 2]
    pairs = [("我很好。", "I'm fine."), ("汤姆在这里。", "Tom is here.")]
    batch = text.pair_batch(text2text.translation_tokens(pairs, vocab, 16), model.src_vocab, model.tgt_vocab)
    assert (batch.tgt[:, 0] == vocab.pad_id).all()  # T5's decoder starts from <pad>
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert model.translate([zh for zh, _ in pairs]) == [en for _, en in pairs]
    assert model.translate([zh for zh, _ in pairs], beam_size=3) == [en for _, en in pairs]
    assert model.max_output_length(40) == 16  # never past the learned positions
    # it never writes what pretraining taught it and English never holds: <pad>, <mask>, the sentinels
    specials = {"<pad>", "<mask>", *(objectives.sentinel(k) for k in range(4))}
    assert {model.tgt_vocab.itos[i] for i in model.banned_ids()} == specials


def test_t5_translator_writes_wikitext_words_as_a_sentence():
    model = text2text.T5Translator(pretrain.T5(english_vocab(), 8, 2, 1, 16, 8, adaptive=False), [])
    assert model.detokenize_target(["I", "'m", "well", "@-@", "known", ",", "Tom", "."]) == (
        "I'm well-known, tom.")
    with pytest.raises(ValueError, match="'t5-zh-en' or 't5-scratch-zh-en'"):
        text2text.load_translator(zoo.Artefact("t5-span", "quick", {}, {}, Path(".")))
