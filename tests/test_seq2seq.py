"""The encoder–decoder (n2t.seq2seq), its translate(), the detokenizer and the fixed translation split."""

from __future__ import annotations

import pytest
import torch

from n2t import data, decoding, seq2seq, text, translation
from n2t.profile import Settings
from n2t.seq2seq import Seq2Seq
from n2t.text import english_tokenize
from n2t.translation import detokenize

PAIRS = [
    ("我是一个学生。", "I am a student."),
    ("他很高。", "He is tall."),
    ("我们走吧。", "Let's go."),
    ("你好吗？", "How are you?"),
    ("我喜欢茶。", "I like tea."),
]


pytestmark = pytest.mark.usefixtures("one_thread")



@pytest.fixture(scope="module")
def vocabs():
    return translation.build_vocabs(translation.tokenized_pairs(PAIRS), min_freq=1)


def tiny_model(vocabs, attention: str, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    return Seq2Seq(*vocabs, embed_dim=12, hidden_dim=10, attention=attention, dropout=0.0).eval()


def padded_batch(vocabs):
    return text.pair_batch(translation.tokenized_pairs(PAIRS), *vocabs)


# ------------------------------------------------------------------------------------------ detokenize


def test_detokenize_inverts_english_tokenize_on_tatoeba():
    english = [en.replace("’", "'") for en, _ in data.cmn_eng_pairs()]
    same = sum(detokenize(english_tokenize(s)).lower() == s.lower() for s in english)
    assert same / len(english) > 0.995, f"only {same} of {len(english)} sentences round-trip"


@pytest.mark.parametrize(
    "sentence",
    [
        "I am a student.", "I'm here, and I'll stay!", "Is it 3:30 or 3.5 hours?", "It costs $1,000.",
        'He said "no" twice.', "A well-known (old) book; really?", "It's 50% off.", "I can't... I won't.",
    ],
)
def test_detokenize_restores_typical_sentences_exactly(sentence):
    assert detokenize(english_tokenize(sentence)) == sentence


def test_detokenize_capitalises_sentences_and_i_and_rejects_a_string():
    assert detokenize(["i", "think", "so", ".", "yes", ",", "i'm", "sure", "."]) == "I think so. Yes, I'm sure."
    assert detokenize([]) == ""
    with pytest.raises(TypeError, match="sequence of tokens"):
        detokenize("i am here")


# ------------------------------------------------------------------------------------------ the model


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_padded_source_positions_change_nothing(vocabs, attention):
    model = tiny_model(vocabs, attention)
    batch = padded_batch(vocabs)
    assert not batch.src_mask.all(), "the batch needs some padding for this test"
    other_src = batch.src.masked_fill(~batch.src_mask, 7)  # a real character id where the padding was
    with torch.no_grad():
        logits = model(batch.src, batch.src_lengths, batch.tgt[:, :-1])
        other = model(other_src, batch.src_lengths, batch.tgt[:, :-1])
    assert torch.equal(logits, other)


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_attention_gives_padded_positions_zero_weight(vocabs, attention):
    model = tiny_model(vocabs, attention)
    batch = padded_batch(vocabs)
    state = model.start(batch.src, batch.src_lengths)
    with torch.no_grad():
        _, weights, _ = model.decode(batch.tgt[:, :-1], state)  # (batch, T, S)
    assert torch.all(weights.masked_select(~batch.src_mask[:, None, :].expand_as(weights)) == 0)
    assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:2]))


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_decoder_never_reads_a_future_target_token(vocabs, attention):
    model = tiny_model(vocabs, attention)
    batch = padded_batch(vocabs)
    tgt_in = batch.tgt[:, :-1]
    with torch.no_grad():
        logits = model(batch.src, batch.src_lengths, tgt_in)
        for t in range(tgt_in.shape[1] - 1):
            changed = tgt_in.clone()
            changed[:, t + 1 :] = (changed[:, t + 1 :] + 1) % len(model.tgt_vocab)
            assert torch.equal(model(batch.src, batch.src_lengths, changed)[:, : t + 1], logits[:, : t + 1])


@pytest.mark.parametrize("attention", ["none", "additive"])
def test_step_by_step_decoding_equals_teacher_forcing(vocabs, attention):
    # The autoregressive path (step) computes exactly what the parallel training path (forward) computes.
    model = tiny_model(vocabs, attention)
    batch = padded_batch(vocabs)
    tgt_in = batch.tgt[:, :-1]
    with torch.no_grad():
        parallel = model(batch.src, batch.src_lengths, tgt_in).log_softmax(-1)
        state = model.start(batch.src, batch.src_lengths)
        for t in range(tgt_in.shape[1]):
            log_probs, state = model.step(tgt_in[:, t], state)
            assert torch.allclose(log_probs, parallel[:, t], atol=1e-5)


def test_the_two_attention_scores_by_hand(vocabs):
    torch.manual_seed(0)
    queries, keys, values = torch.randn(2, 3, 10), torch.randn(2, 4, 20), torch.randn(2, 4, 20)
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    dot = seq2seq.DotProductAttention(10, 20, 8)
    context, weights = dot(queries, dot.project_keys(keys), values, mask)
    scores = dot.w_q(queries) @ dot.w_k(keys).transpose(1, 2) / 8**0.5
    expected = scores.masked_fill(~mask[:, None], float("-inf")).softmax(-1)
    assert torch.allclose(weights, expected, atol=1e-6) and torch.allclose(context, expected @ values, atol=1e-5)
    additive = seq2seq.AdditiveAttention(10, 20, 8)
    context, weights = additive(queries, additive.project_keys(keys), values, mask)
    q, k = additive.w_q(queries)[0, 1], additive.w_k(keys)[0, 2]  # query 1 and key 2 of sentence 0
    assert torch.allclose(torch.log(weights[0, 1, 2] / weights[0, 1, 0]),
                          additive.v(torch.tanh(q + k)) - additive.v(torch.tanh(q + additive.w_k(keys)[0, 0])),
                          atol=1e-5)


def test_bad_model_arguments_are_clear_errors(vocabs):
    with pytest.raises(ValueError, match="attention must be one of"):
        Seq2Seq(*vocabs, attention="multiplicative")
    model = tiny_model(vocabs, "none")
    with pytest.raises(ValueError, match="no alignment"):
        model.alignment("我", ["i"])
    with pytest.raises(ValueError, match="at least one token"):
        model.start(torch.zeros(1, 3, dtype=torch.long), torch.tensor([0]))


# ------------------------------------------------------------------------------------------ translate


def test_translate_gives_strings_in_order_whatever_the_batching(vocabs):
    model = tiny_model(vocabs, "additive")
    sources = [zh for zh, _ in PAIRS]
    together = model.translate(sources, batch_size=2)
    assert [model.translate([s])[0] for s in sources] == together
    assert all(isinstance(t, str) for t in together)
    beam = model.translate(sources, beam_size=3, batch_size=2)
    assert [model.translate([s], beam_size=3)[0] for s in sources] == beam


@pytest.mark.parametrize("beam_size", [1, 3])
def test_a_sentence_gets_its_own_length_cap_whatever_its_batch_mates(vocabs, beam_size):
    model = tiny_model(vocabs, "additive", seed=1)
    with torch.no_grad():
        model.out.bias[model.tgt_vocab.eos_id] = -1e4  # it never ends: every output runs to its cap
    short, long = "他很高。", "我是一个学生。我喜欢茶。"
    alone = model.translate_tokens([short], beam_size=beam_size)[0]
    assert len(alone) == model.max_output_length(len(short))
    together = model.translate_tokens([short, long], beam_size=beam_size, batch_size=2)
    assert together[0] == alone
    assert len(together[1]) == model.max_output_length(len(long))


@pytest.mark.parametrize("beam_size", [1, 3])
def test_translations_never_hold_pad_or_bos(vocabs, beam_size):
    model = tiny_model(vocabs, "dot", seed=2)
    tgt = model.tgt_vocab
    with torch.no_grad():  # the model prefers <pad> and <bos> to every word
        model.out.bias[tgt.pad_id] = model.out.bias[tgt.bos_id] = 1e4
    assert sorted(model.banned_ids()) == sorted([tgt.pad_id, tgt.bos_id])
    outputs = model.translate_tokens([zh for zh, _ in PAIRS], beam_size=beam_size)
    assert all(outputs) and not any({"<pad>", "<bos>"} & set(tokens) for tokens in outputs)


def test_translate_tokens_keeps_unk_as_one_token(vocabs):
    model = tiny_model(vocabs, "additive", seed=4)
    with torch.no_grad():  # it writes <unk> first, then stops
        model.out.bias[model.tgt_vocab.unk_id] = 50.0
    tokens = model.translate_tokens(["我是一个学生。"])[0]
    assert tokens and set(tokens) == {"<unk>"}
    assert model.translate(["我是一个学生。"]) == [detokenize(tokens)]
    assert model.translate_tokens(["", "我"])[0] == []


def test_translate_with_beam_one_equals_greedy(vocabs):
    model = tiny_model(vocabs, "dot", seed=3)
    sources = [zh for zh, _ in PAIRS]
    src, lengths = text.pad_sequences([model.src_vocab.encode(list(s)) for s in sources], model.src_vocab.pad_id)
    tgt = model.tgt_vocab
    max_len = model.max_output_length(int(lengths.max()))
    beams = decoding.beam_search(model.step, model.start(src, lengths), tgt.bos_id, tgt.eos_id, max_len, beam_size=1)
    greedy = decoding.greedy(model.step, model.start(src, lengths), tgt.bos_id, tgt.eos_id, max_len)
    assert decoding.best_tokens(beams) == greedy
    step = decoding.without_tokens(model.step, model.banned_ids())
    for source, translated in zip(sources, model.translate(sources), strict=True):
        ids = torch.tensor([model.src_vocab.encode(list(source))])
        cap = model.max_output_length(ids.shape[1])  # its own cap, not its batch's
        alone = decoding.greedy(step, model.start(ids, torch.tensor([ids.shape[1]])), tgt.bos_id, tgt.eos_id, cap)
        assert translated == detokenize(tgt.decode(alone[0]))


def test_translate_handles_empty_and_unseen_input_and_rejects_non_strings(vocabs):
    model = tiny_model(vocabs, "additive")
    assert model.translate(["", "   "]) == ["", ""]
    unseen = "鬱龘齉"  # characters that are not in the tiny vocabulary
    assert all(model.src_vocab[ch] == model.src_vocab.unk_id for ch in unseen)
    out = model.translate([unseen, "我是" + unseen])
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    with pytest.raises(TypeError, match="list of strings; item 1 is a int"):
        model.translate(["我", 3])
    with pytest.raises(TypeError, match="list of strings; got str"):
        model.translate("我是一个学生。")
    with pytest.raises(ValueError, match="beam_size"):
        model.translate(["我"], beam_size=0)


# ------------------------------------------------------------------------------------ the split, training


def test_the_split_is_fixed_disjoint_and_keeps_twins_together():
    splits = {name: data.cmn_eng_split(name) for name in data.CMN_ENG_SPLITS}
    assert len(splits["valid"]) == len(splits["test"]) == 1000
    assert sum(map(len, splits.values())) == len(data.cmn_eng_pairs())
    assert splits["test"] == data.cmn_eng_split("test")  # the same every time
    assert data.cmn_eng_split("test", seed=1) != splits["test"]
    for side in (0, 1):  # no Chinese (0) or English (1) sentence appears in two splits
        seen = {name: {pair[side] for pair in pairs} for name, pairs in splits.items()}
        assert not seen["train"] & seen["test"] and not seen["train"] & seen["valid"]
        assert not seen["valid"] & seen["test"]
    zh, en = splits["test"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()
    with pytest.raises(ValueError, match="split must be one of"):
        data.cmn_eng_split("dev")
    with pytest.raises(ValueError, match="held_out"):
        data.cmn_eng_split("test", held_out=0)


def test_length_batches_cover_every_pair_once_with_little_padding():
    pairs = translation.tokenized_pairs(data.cmn_eng_split("valid"))
    vocabs = translation.build_vocabs(pairs, min_freq=1)
    batches = list(translation.length_batches(pairs, *vocabs, batch_size=32, seed=1))
    assert sum(len(b.src) for b in batches) == len(pairs)
    seen = sorted(tuple(row[: n].tolist()) for b in batches for row, n in zip(b.src, b.src_lengths, strict=True))
    assert seen == sorted(tuple(vocabs[0].encode(src)) for src, _ in pairs)
    padding = sum(int((~b.src_mask).sum()) for b in batches) / sum(b.src_mask.numel() for b in batches)
    assert padding < 0.1, f"{padding:.0%} of the source positions are padding"
    again = list(translation.length_batches(pairs, *vocabs, batch_size=32, seed=1))
    assert all(torch.equal(a.src, b.src) for a, b in zip(batches, again, strict=True))


def test_the_recipe_trains_scores_and_rebuilds_a_model():
    settings = Settings("seq2seq", "quick", {
        "train_pairs": 60, "valid_pairs": 8, "test_pairs": 8, "min_freq": 1, "embed_dim": 8, "hidden_dim": 8, "dropout": 0.0,
        "epochs": 1, "batch_size": 16, "lr": 1e-2, "seed": 0, "attention": "dot", "beam_sizes": (1, 2),
    })
    state, metrics = seq2seq.train_seq2seq_model(settings, "dot")
    assert set(state["test_translations"]) == {"1", "2"} and len(state["test_translations"]["2"]) == 8
    assert metrics["steps"] == 4 and 0 <= metrics["bleu_beam1"] <= 100 and 0 <= metrics["chrf_beam2"] <= 100
    model = seq2seq.model_from_state(state)
    assert {k: v for k, v in model.arguments.items() if "vocab" not in k} == state["config"]
    sources = [zh for zh, _ in data.cmn_eng_split("test")[:8]]
    assert model.translate(sources) == state["test_translations"]["1"]
    assert [point["pairs"] for point in metrics["curve"]] == [60] and metrics["clock"]["unit"] == "pairs"


# ------------------------------------------------------------------------------------ Chinese in figures


def test_the_shipped_font_covers_every_character_of_the_data():
    from fontTools.ttLib import TTFont

    from n2t import plot

    cmap = TTFont(data.data_file(plot.CJK_FONT_FILE)).getBestCmap()
    characters = {ch for en, zh in data.cmn_eng_pairs() for ch in en + zh if not ch.isspace()}
    missing = sorted(ch for ch in characters if ord(ch) not in cmap)
    assert not missing, f"the font subset lacks {missing}"


def test_chinese_tick_labels_draw_with_the_book_style(capsys):
    import io
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from n2t import plot

    plot.use_book_style()
    assert plot.register_cjk_font() in matplotlib.rcParams["font.family"]
    ax = plot.heatmap([[0.2, 0.8], [0.6, 0.4]], xlabels=list("学生"), ylabels=["student", "<eos>"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (a missing glyph above all) fails the test
        ax.figure.savefig(io.BytesIO(), format="png")
    plt.close(ax.figure)


def test_a_missing_glyph_is_an_error_and_is_echoed_to_stderr(monkeypatch, capsys):
    import io
    import sys

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from n2t import plot

    plot.use_book_style()
    fig, ax = plt.subplots()
    ax.set_title("\u0d9e")  # a Sinhala letter: in neither DejaVu Sans nor the CJK font
    with pytest.raises(UserWarning, match="missing from font") as raised:
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    # In a notebook IPython catches that error while it renders the figure and stores it in sys.last_value;
    # the post-run hook then says so on stderr, which fails the strict book build.
    monkeypatch.setattr(sys, "last_value", raised.value, raising=False)
    plot._echo_glyph_error_to_stderr()
    plot._echo_glyph_error_to_stderr()  # the same error is reported once
    err = capsys.readouterr().err
    assert err.count("a figure could not be drawn") == 1 and "missing from font" in err


def test_translate_and_batching_refuse_a_non_positive_batch_size(vocabs):
    # translate(batch_size=-1) returned '' for every sentence, and length_batches(batch_size=-1) yielded no batch,
    # so an epoch trained on nothing without a word (issue 22).
    model = tiny_model(vocabs, "additive")
    sentences = [zh for zh, _ in PAIRS[:2]]
    for batch_size in (-1, 0):
        with pytest.raises(ValueError, match=rf"batch_size must be a positive integer; got {batch_size}"):
            model.translate(sentences, batch_size=batch_size)
        with pytest.raises(ValueError, match=rf"batch_size must be a positive integer; got {batch_size}"):
            list(translation.length_batches(translation.tokenized_pairs(PAIRS), *vocabs, batch_size, seed=0))
    with pytest.raises(ValueError, match="alpha must be a finite number; got nan"):
        model.translate(sentences, beam_size=2, alpha=float("nan"))
    assert len(model.translate(sentences, batch_size=1)) == 2
