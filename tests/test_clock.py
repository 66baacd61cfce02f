"""The one compute clock (n2t.clock), the one streamed training loop, and every artefact of the zoo on it."""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch import nn

from n2t import clock, train, zoo
from n2t.profile import Profile
from n2t.text import LMStream

FIELDS = {"unit", "cpu_seconds", "wall_seconds", "threads", "device"}


# ------------------------------------------------------------------------------------------- the clock


def test_the_clock_counts_training_and_nothing_else():
    c = clock.Clock("tokens")
    with c.running():
        sum(i * i for i in range(300_000))  # CPU work
    c.seen += 10
    busy = c.cpu_seconds
    time.sleep(0.05)  # outside running(): not counted
    reading = c.reading()
    assert set(reading) == FIELDS | {"tokens"} and reading["tokens"] == 10
    assert busy > 0 and reading["cpu_seconds"] == round(busy, 3)
    assert reading["threads"] == torch.get_num_threads() and reading["device"] == "cpu"
    with c.running():
        time.sleep(0.05)  # wall time, hardly any CPU time
    assert c.wall_seconds >= 0.05 and c.cpu_seconds - busy < 0.04


def test_clocks_add_up_and_refuse_other_units():
    a, b = clock.Clock("steps"), clock.Clock("steps")
    a.seen, a.cpu_seconds, a.wall_seconds = 3, 1.0, 2.0
    b.seen, b.cpu_seconds, b.wall_seconds = 4, 0.5, 0.25
    a.add(b)
    assert (a.seen, a.cpu_seconds, a.wall_seconds) == (7, 1.5, 2.25)
    with pytest.raises(ValueError, match="cannot add a clock counting tokens"):
        a.add(clock.Clock("tokens"))
    with pytest.raises(ValueError, match="unit must be one of"):
        clock.Clock("minutes")


def test_the_label_names_one_clock_or_refuses_to_mix_two():
    one = {"tokens": 1, "unit": "tokens", "cpu_seconds": 2.0, "wall_seconds": 3.0, "threads": 1, "device": "cpu"}
    gpu = {**one, "device": "cuda:0"}
    assert clock.clock_label(one, one) == "training CPU-seconds, one thread"
    assert clock.clock_label({**one, "threads": 2}) == "training CPU-seconds, 2 threads"
    assert clock.clock_label(gpu) == "training seconds, GPU"
    assert clock.clock_seconds(one) == 2.0 and clock.clock_seconds(gpu) == 3.0  # wall time on a GPU
    with pytest.raises(ValueError, match="not on one clock"):
        clock.clock_label(one, {**one, "threads": 2})
    with pytest.raises(ValueError, match="lacks the clock field"):
        clock.clock_seconds({"tokens": 1, "cpu_seconds": 1.0})


def test_torch_threads_sets_and_restores_the_count():
    before = torch.get_num_threads()
    with clock.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive number of threads"), clock.torch_threads(0):
        pass
    with clock.measured("pairs") as measured:
        measured.seen = 5
        assert torch.get_num_threads() == 1
    assert measured.reading()["threads"] == 1 and measured.reading()["pairs"] == 5


# --------------------------------------------------------------------------------------- the one loop


def _toy_stream_problem():
    train.seed_everything(0)
    model = nn.Linear(4, 1)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -1.0, 0.5, 2.0])
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 64, 8)]
    cursor = [0]

    def step():
        xb, yb = batches[cursor[0] % len(batches)]
        cursor[0] += 1
        return ((model(xb).squeeze(-1) - yb) ** 2).mean(), len(xb)

    def evaluate(m):
        return {"valid_loss": float(((m(x).squeeze(-1) - y) ** 2).mean().detach())}

    return model, step, evaluate


def test_train_stream_evaluates_on_a_cadence_and_keeps_the_best_weights(monkeypatch):
    monkeypatch.setenv("N2T_DEVICE", "cpu")
    model, step, evaluate = _toy_stream_problem()
    log = train.train_stream(model, step, steps=40, evaluate=evaluate, monitor="valid_loss", eval_every=64,
                             lr=0.05, warmup_steps=2, unit="examples")
    assert [point["examples"] for point in log.curve] == [64, 128, 192, 256, 320]  # every 64, and the end
    assert all(set(point) >= FIELDS for point in log.curve)
    assert log.clock["examples"] == 320 and log.clock["cpu_seconds"] > 0
    assert log.best["valid_loss"] == min(point["valid_loss"] for point in log.curve)
    assert math.isclose(evaluate(model)["valid_loss"], log.best["valid_loss"], rel_tol=1e-6)  # restored
    with pytest.raises(ValueError, match="steps and eval_every must be positive"):
        train.train_stream(model, step, 0, evaluate, "valid_loss", 64, lr=0.1)


def test_the_best_checkpoint_is_kept_even_when_the_last_is_worse(monkeypatch):
    monkeypatch.setenv("N2T_DEVICE", "cpu")
    model, step, _ = _toy_stream_problem()
    scores = iter([3.0, 1.0, 2.0])  # the second checkpoint is the best

    def evaluate(m):
        return {"valid_loss": next(scores), "weight": float(m.weight.sum())}

    log = train.train_stream(model, step, steps=3, evaluate=evaluate, monitor="valid_loss", eval_every=8, lr=0.05)
    assert log.best["step"] == 2 and float(model.weight.sum().detach()) == pytest.approx(log.best["weight"])


def test_a_stream_s_step_count_matches_its_windows():
    stream = LMStream(torch.arange(103), batch_size=4, seq_len=7)
    predicted_per_epoch = sum(targets.numel() for _, targets in stream)
    assert stream.steps_for(predicted_per_epoch) == len(stream)
    assert stream.steps_for(predicted_per_epoch + 1) == len(stream) + 1
    assert stream.steps_for(1) == 1
    with pytest.raises(ValueError, match="tokens must be a positive number"):
        stream.steps_for(0)


def test_a_model_keeps_the_arguments_it_was_built_with():
    class Toy(nn.Module):
        @train.records_arguments
        def __init__(self, width: int, depth: int = 2, name: str = "toy") -> None:
            super().__init__()
            self.layer = nn.Linear(width, width)

    model = Toy(3, name="t")
    assert model.arguments == {"width": 3, "depth": 2, "name": "t"}  # defaults included
    assert Toy(**model.arguments).arguments == model.arguments


# ------------------------------------------------------------------------------ every artefact, one clock

# The models that the book's tables and figures compare: they must be on one clock (same threads, device).
COMPARED = {
    "language models (Chapters 3, 6, 11, 12)": ("ngram-wikitext2", "nnlm", "lstm-lm", "bilm", "gpt-lm"),
    "translators (Chapters 7, 10, 11, 12)": ("seq2seq-zh-en", "seq2seq-attention-zh-en", "transformer-zh-en",
                                             "t5-zh-en", "t5-scratch-zh-en"),
    "pretraining (Chapter 11)": ("gpt-lm", "bert-mlm", "t5-span"),
    "transfer curves (Chapters 5, 6, 11, 12)": ("transfer-curves", "elmo-transfer-curves", "bert-curves",
                                                "t5-curves"),
    "word vectors (Chapters 3, 4)": ("word2vec-skipgram", "word2vec-cbow", "word2vec-curves", "nnlm"),
}


def _readings(name: str, metrics: dict) -> list[dict]:
    """Every clock reading an artefact's metrics hold: its total, each checkpoint, each run or model."""
    readings = [metrics["clock"], *metrics.get("curve", [])]
    readings += [record["clock"] for record in metrics.get("records", []) + metrics.get("models", [])]
    return readings


@pytest.mark.slow
def test_every_artefact_carries_the_clock_and_compared_models_share_it(monkeypatch):
    """Trains the quick profile's zoo if it is not cached yet (about two minutes on one core)."""
    monkeypatch.setenv("N2T_PROFILE", "quick")
    names = [name for name in zoo.names() if not name.startswith("zoo-test")]
    assert {name for group in COMPARED.values() for name in group} <= set(names)
    for name in names:
        metrics = zoo.metrics(name, Profile("quick"))
        for reading in _readings(name, metrics):
            clock.check_reading(reading, f"{name}'s clock")
            assert reading[reading["unit"]] >= 0 and reading["cpu_seconds"] >= 0, name
        assert metrics["clock"]["threads"] == zoo._recipe(name).threads == 1, name
    for group, members in COMPARED.items():
        labels = {clock.clock_label(zoo.metrics(name, Profile("quick"))["clock"]) for name in members}
        assert len(labels) == 1, f"the {group} were trained on different clocks: {labels}"
