"""n2t.train: device choice, seeding, the training loop, schedules, checkpoints, progress bars."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from n2t import train


def test_device_default_and_override(monkeypatch):
    monkeypatch.delenv("N2T_DEVICE", raising=False)
    assert train.device().type in ("cuda", "mps", "cpu")
    monkeypatch.setenv("N2T_DEVICE", "cpu")
    assert train.device() == torch.device("cpu")


def test_device_rejects_unknown_or_unavailable(monkeypatch):
    monkeypatch.setenv("N2T_DEVICE", "tpu-please")
    with pytest.raises(ValueError, match="must be a torch device"):
        train.device()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"the device argument asks for .cuda., but this machine has no CUDA"):
            train.device("cuda")


def test_fit_trains_on_the_chosen_device(monkeypatch):
    monkeypatch.setenv("N2T_DEVICE", "cpu")
    model, batches, loss_fn = _regression_problem()
    seen = []

    def recording_loss(m, batch):
        seen.append(batch[0].device)
        return loss_fn(m, batch)

    train.fit(model, batches, recording_loss, torch.optim.SGD(model.parameters(), lr=0.1))
    assert {p.device for p in model.parameters()} == {torch.device("cpu")}
    assert set(seen) == {torch.device("cpu")}
    assert train.model_device(model) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_fit_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("N2T_DEVICE", "cuda")
    model, batches, loss_fn = _regression_problem()
    with pytest.raises(ValueError, match=r"N2T_DEVICE asks for 'cuda', but this machine has no CUDA device"):
        train.fit(model, batches, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_moves_model_and_batches_to_cuda(monkeypatch):
    monkeypatch.setenv("N2T_DEVICE", "cuda")
    model, batches, loss_fn = _regression_problem()
    train.fit(model, batches, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))
    assert train.model_device(model).type == "cuda"
    assert train.mean_over_batches(model, batches, lambda m, b: (loss_fn(m, b), 1)) >= 0


def test_to_device_walks_containers():
    from n2t.text import PairBatch

    tensors = [torch.zeros(2) for _ in range(6)]
    moved = train.to_device({"pair": PairBatch(*tensors), "list": [tensors[0], 3], "tuple": (tensors[1],)}, "cpu")
    assert isinstance(moved["pair"], PairBatch) and moved["list"][1] == 3 and isinstance(moved["tuple"], tuple)


def test_seeding_is_reproducible():
    train.seed_everything(3)
    first = torch.randn(4)
    train.seed_everything(3)
    assert torch.equal(first, torch.randn(4))


def _regression_problem():
    train.seed_everything(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    model = nn.Linear(3, 1)

    def loss_fn(m, batch):
        inputs, targets = batch
        return nn.functional.mse_loss(m(inputs).squeeze(-1), targets)

    return model, batches, loss_fn


def test_fit_lowers_the_loss_and_records_history():
    model, batches, loss_fn = _regression_problem()
    history = train.fit(
        model, batches, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), epochs=5,
        evaluate=lambda m: {"loss": sum(loss_fn(m, train.to_device(b, train.model_device(m))).item()
                                        for b in batches) / len(batches)},
    )
    assert history.steps == 20 and len(history.epoch_metrics) == 5
    assert history.epoch_metrics[-1]["loss"] < 0.1 * history.step_loss[0]
    assert history.seconds > 0


def test_fit_stops_at_max_steps_and_accepts_a_batch_factory():
    model, batches, loss_fn = _regression_problem()
    history = train.fit(model, lambda: iter(batches), loss_fn, torch.optim.SGD(model.parameters(), lr=0.1),
                        epochs=3, max_steps=6)
    assert history.steps == 6


def test_fit_refuses_a_non_finite_loss():
    model, batches, _ = _regression_problem()
    with pytest.raises(FloatingPointError, match="loss became nan at step 1"):
        train.fit(model, batches, lambda m, b: torch.tensor(float("nan"), requires_grad=True),
                  torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, batches, lambda m, b: m(b[0]).sum(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=0)


def test_mean_over_batches_weights_by_count():
    model = nn.Identity()
    batches = [torch.tensor([1.0, 1.0, 1.0]), torch.tensor([5.0])]
    assert train.mean_over_batches(model, batches, lambda m, b: (m(b).sum(), b.numel())) == 2.0
    with pytest.raises(ValueError, match="empty"):
        train.mean_over_batches(model, [], lambda m, b: (b.sum(), 1))


def test_checkpoint_round_trip_uses_weights_only(tmp_path):
    model, batches, loss_fn = _regression_problem()
    optimizer = torch.optim.Adam(model.parameters())
    train.fit(model, batches, loss_fn, optimizer)
    train.save_checkpoint(tmp_path / "ckpt.pt", model, optimizer, epoch=1, note="after one epoch")
    fresh, fresh_opt = nn.Linear(3, 1), torch.optim.Adam(nn.Linear(3, 1).parameters())
    fresh_opt = torch.optim.Adam(fresh.parameters())
    extra = train.load_checkpoint(tmp_path / "ckpt.pt", fresh, fresh_opt)
    assert extra == {"epoch": 1, "note": "after one epoch"}
    assert all(torch.equal(a.cpu(), b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values(),
                                                       strict=True))  # fit trained on the device; loaded on the CPU
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temporary file


def test_checkpoint_refuses_pickled_code(tmp_path):
    torch.save({"model": {}, "extra": {"fn": train.Timer}}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match=r"[Ww]eights only load failed"):
        train.load_checkpoint(tmp_path / "evil.pt", nn.Linear(1, 1))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train.load_checkpoint(tmp_path / "missing.pt", nn.Linear(1, 1))


def test_schedules():
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    noam = train.warmup_inverse_sqrt(optimizer, d_model=512, warmup=4000)
    lrs = []
    for _ in range(8000):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        noam.step()
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert peak in (3999, 4000)
    assert lrs[4000] == pytest.approx(512**-0.5 * 4000**-0.5)
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    cosine = train.warmup_cosine(optimizer, warmup=10, total=100)
    factors = [cosine.lr_lambdas[0](s) for s in (0, 9, 10, 55, 100, 150)]
    assert factors[1] == 1.0 and factors[2] == 1.0 and factors[3] == pytest.approx(0.5) and factors[4] == 0.0
    with pytest.raises(ValueError, match="warmup"):
        train.warmup_cosine(optimizer, warmup=100, total=100)


def test_progress_modes(monkeypatch, capsys):
    monkeypatch.setenv("N2T_PROGRESS", "text")
    assert list(train.progress(range(3), desc="demo")) == [0, 1, 2]
    assert capsys.readouterr().out == "demo: 3/3\n"  # one line, no rate or time: a page shows the same line
    bar = train.progress(total=5, desc="steps")
    for _ in range(5):
        bar.update()
        bar.set_postfix(loss="0.125", refresh=False)
    bar.close()
    bar.close()
    assert capsys.readouterr().out == "steps: 5/5 [loss=0.125]\n"
    model, batches, loss_fn = _regression_problem()
    train.fit(model, batches, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, desc="toy")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" [")[0] for line in lines] == ["toy epoch 1/2: 4/4", "toy epoch 2/2: 4/4"]
    monkeypatch.setenv("N2T_PROGRESS", "off")
    assert list(train.progress(range(3), desc="silent")) == [0, 1, 2]
    assert "silent" not in capsys.readouterr().out
    monkeypatch.setenv("N2T_PROGRESS", "loud")
    with pytest.raises(ValueError, match="N2T_PROGRESS"):
        train.progress(range(3))


def test_count_parameters_and_timer():
    assert train.count_parameters(nn.Linear(3, 2)) == 8
    with train.Timer() as timer:
        sum(range(1000))
    assert timer.seconds >= 0


def test_optimizer_step_clips_schedules_and_refuses_a_non_finite_loss():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5**step)
    loss = (model(torch.tensor([[30.0, 40.0]])) - 1).sum()  # gradient (30, 40): norm 50
    train.optimizer_step(-loss, model, optimizer, step=1, grad_clip=5.0, scheduler=scheduler)
    assert torch.allclose(model.weight, torch.tensor([[3.0, 4.0]]))  # clipped to norm 5, lr 1
    assert optimizer.param_groups[0]["lr"] == 0.5
    before = model.weight.detach().clone()
    with pytest.raises(FloatingPointError, match="loss became inf at step 7"):
        train.optimizer_step(torch.tensor(float("inf")), model, optimizer, step=7)
    assert torch.equal(model.weight, before)


def test_best_weights_keep_the_lowest_score_and_restore_it():
    model = nn.Linear(1, 1)
    best = train.BestWeights(model)
    with torch.no_grad():
        model.weight.fill_(1.0)
    best.update(model, 10.0, seen=100)
    with torch.no_grad():
        model.weight.fill_(2.0)
    best.update(model, 12.0, seen=200)  # worse: not kept
    best.restore(model)
    assert model.weight.item() == 1.0 and (best.score, best.seen) == (10.0, 100)
