"""Every model the zoo stores is rebuilt with every argument it was built with, and computes the same.

A model built with non-default arguments (learned positions, another max_len, untied output, a stride …) goes
through the state its recipe stores and the loader its chapter calls; the rebuilt model must have the same
arguments and give the same outputs. A loader that rebuilt from a subset of the arguments would fail here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from n2t import elmo, lm, nnlm, pretrain, rnn, text2text, translation, zoo
from n2t.seq2seq import Seq2Seq
from n2t.text import Vocab
from n2t.transformer import Transformer

pytestmark = pytest.mark.usefixtures("one_thread")


def _artefact(name: str, state: dict) -> zoo.Artefact:
    return zoo.Artefact(name, "quick", state, {}, Path("."))


def _vocabs() -> tuple[Vocab, Vocab]:
    src = Vocab(Counter({c: 5 for c in "我是一个学生你好吗。"}))
    tgt = Vocab(Counter({w: 5 for w in ["i", "am", "a", "student", "you", "are", "good", "how", "?", "."]}))
    return src, tgt


def _same_translator(model: translation.Translator, rebuilt: translation.Translator) -> None:
    def plain(arguments: dict) -> dict:
        return {k: v for k, v in arguments.items() if "vocab" not in k}

    assert plain(rebuilt.arguments) == plain(model.arguments)
    assert rebuilt.src_vocab.itos == model.src_vocab.itos and rebuilt.tgt_vocab.itos == model.tgt_vocab.itos
    model.eval()
    src, lengths = torch.tensor([[4, 5, 6], [7, 8, 0]]), torch.tensor([3, 2])
    tgt_in = torch.tensor([[model.tgt_vocab.bos_id, 5, 6], [model.tgt_vocab.bos_id, 7, 4]])
    with torch.no_grad():
        expected = model.step(tgt_in[:, 0], model.start(src, lengths))[0]
        got = rebuilt.step(tgt_in[:, 0], rebuilt.start(src, lengths))[0]
    assert torch.equal(expected, got)


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_seq2seq_is_rebuilt_with_every_argument(attention: str) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(*_vocabs(), embed_dim=6, hidden_dim=10, attention=attention, dropout=0.3)
    state = translation.translator_state(model, min_freq=1)
    _same_translator(model, translation.rebuild(Seq2Seq, state))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"positions": "learned", "max_len": 24, "tie_output": False, "norm_first": True, "final_norm": False},
        {"num_encoder_layers": 1, "num_decoder_layers": 3, "dropout": 0.2},
    ],
)
def test_transformer_is_rebuilt_with_every_argument(options: dict) -> None:
    torch.manual_seed(0)
    model = Transformer(*_vocabs(), d_model=16, num_heads=2, d_ff=32, **options)
    state = translation.translator_state(model, min_freq=1)
    assert set(state["config"]) == set(model.arguments) - {"src_vocab", "tgt_vocab"}
    _same_translator(model, translation.rebuild(Transformer, state))


def test_the_t5_translator_is_rebuilt_with_every_argument() -> None:
    torch.manual_seed(0)
    config = {"d_model": 16, "num_heads": 2, "num_layers": 1, "d_ff": 32, "block_size": 24, "dropout": 0.0}
    t5 = pretrain.build_t5(config)
    model = text2text.T5Translator(t5, ["我", "你"])
    state = translation.translator_state(model, min_freq=1)
    rebuilt = text2text.load_translator(_artefact("t5-zh-en", state))
    assert rebuilt.arguments == model.arguments
    assert pretrain.model_config(rebuilt.t5) == pretrain.model_config(t5)
    _same_translator(model, rebuilt)


def _same_lm(model: lm.NeuralLM, rebuilt: lm.NeuralLM) -> None:
    assert lm.lm_config(rebuilt) == lm.lm_config(model)
    ids = torch.randint(0, model.vocab_size, (2, 9))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.next_token_logprobs(ids)[0], rebuilt.next_token_logprobs(ids)[0])


def test_the_language_models_are_rebuilt_with_every_argument() -> None:
    torch.manual_seed(0)
    V = lm.VOCAB_SIZE
    cases = [
        (nnlm.load, "nnlm", lm.NeuralLM(nnlm.NNLM(V, 3, 8, 16, direct=True, dropout=0.1), V, cutoffs=[100, 1000])),
        (rnn.load_lstm_lm, "lstm-lm", lm.NeuralLM(rnn.LSTMBody(V, 16, num_layers=2, dropout=0.1), V)),
        (pretrain.load_gpt, "gpt-lm", lm.NeuralLM(pretrain.GPT(V, 16, 2, 1, 32, 12, stride=3, dropout=0.0), V)),
    ]
    for load, name, model in cases:
        state = {"model": model.state_dict(), "config": lm.lm_config(model)}
        _same_lm(model, load(_artefact(name, state)))


def test_the_bilm_bert_and_t5_are_rebuilt_with_every_argument() -> None:
    torch.manual_seed(0)
    bilm = elmo.BiLM(lm.VOCAB_SIZE, 8, num_layers=3, dropout=0.1, adaptive=False)
    rebuilt = elmo.load_bilm(_artefact("bilm", {"model": bilm.state_dict(), "config": dict(bilm.arguments)}))
    assert rebuilt.arguments == bilm.arguments
    config = {"d_model": 16, "num_heads": 2, "num_layers": 1, "d_ff": 32, "block_size": 12, "dropout": 0.0}
    for name, model in (("bert-mlm", pretrain.build_bert(config)), ("t5-span", pretrain.build_t5(config))):
        state = {"model": model.state_dict(), "config": pretrain.model_config(model)}
        again = pretrain.load(_artefact(name, state))
        assert pretrain.model_config(again) == pretrain.model_config(model)
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(),
                                                      strict=True))
