"""Training utilities: device choice, seeding, progress bars, the training loops, schedules, checkpoints.

Two loops train every model of the book. :func:`fit` makes passes (epochs) over batches, for the translators
and the chapters' small experiments. :func:`train_stream` trains for a fixed number of steps drawn from an
endless stream — the language models, the biLM's two directions, and BERT, GPT and T5's pretraining — with one
schedule (AdamW, linear warm-up, cosine decay), validation every ``eval_every`` units read, and the weights of
the best validation checkpoint kept. Both keep the one compute clock (:mod:`n2t.clock`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import math
import os
import pickle
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from n2t.checks import integers, positive_ints, positive_numbers
from n2t.clock import Clock
from n2t.progress import progress

# ------------------------------------------------------------------------------------ device, seeding


def device(name: str | None = None) -> torch.device:
    """The device to compute on: ``name``, else ``N2T_DEVICE``, else CUDA → MPS → CPU, whichever is available."""
    name = name or os.environ.get("N2T_DEVICE") or None
    if name is not None:
        try:
            chosen = torch.device(name)
        except RuntimeError as err:
            raise ValueError(f"N2T_DEVICE / name must be a torch device such as 'cpu' or 'cuda'; got {name!r}") from err
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": torch.backends.mps.is_available(),
        }
        if not available.get(chosen.type, False):
            source = "N2T_DEVICE" if name == os.environ.get("N2T_DEVICE") else "the device argument"
            raise ValueError(
                f"{source} asks for {name!r}, but this machine has no {chosen.type.upper()} device that torch can use; "
                f"unset N2T_DEVICE to choose automatically, or set N2T_DEVICE=cpu"
            )
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """``obj`` with ``fn`` applied to every tensor in it: a tensor, or tuples, lists, dicts, NamedTuples and
    dataclass instances (such as a key/value cache) of them; new containers, the same other values."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: map_tensors(getattr(obj, f.name), fn)
                                           for f in dataclasses.fields(obj) if f.init})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple such as PairBatch
        return type(obj)(*(map_tensors(x, fn) for x in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(map_tensors(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {key: map_tensors(value, fn) for key, value in obj.items()}
    return obj


def to_device(obj: Any, dev: torch.device | str) -> Any:
    """``obj`` with every tensor in it moved to ``dev`` (see :func:`map_tensors` for the containers)."""
    return map_tensors(obj, lambda tensor: tensor.to(dev, non_blocking=True))


def model_device(model: nn.Module) -> torch.device:
    """The device that holds ``model``'s parameters (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); returns a CPU generator seeded the same way."""
    integers(seed=seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed must fit in 64 bits; got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------- the loop


@dataclass
class History:
    """What :func:`fit` recorded: the loss at every step, metrics and the clock after every epoch, wall time.

    ``epoch_metrics[i]`` holds epoch i + 1's metrics with the clock's reading then (:mod:`n2t.clock`);
    ``clock`` is the last reading; ``seconds`` the wall time of the whole run, evaluation included.
    """

    step_loss: list[float] = field(default_factory=list)
    epoch_metrics: list[dict[str, Any]] = field(default_factory=list)
    clock: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        """How many optimisation steps were taken."""
        return len(self.step_loss)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def records_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """Decorator for a model's ``__init__``: ``model.arguments`` keeps every argument it was built with.

    Defaults included, so a model stored with its ``arguments`` is rebuilt exactly, even when a later version
    changes a default; a loader that passes them all back cannot forget one.
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def init_and_record(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        self.arguments = dict(list(bound.arguments.items())[1:])  # all but self

    return init_and_record


def adamw(model: nn.Module, lr: float, weight_decay: float = 0.01) -> torch.optim.Optimizer:
    """AdamW, fused into one pass over the parameters where the device supports it (a quarter or more of a
    step's time on a CPU when the embedding tables are large).

    Every parameter decays, biases, LayerNorm gains and embeddings included; nanoGPT decays only the weight
    matrices. At the book's ``weight_decay`` of 0.01 the difference is small.
    """
    positive_numbers(lr=lr)
    if not (isinstance(weight_decay, int | float) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a non-negative number; got {weight_decay!r}")
    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def optimizer_step(
    loss: torch.Tensor, model: nn.Module, optimizer: torch.optim.Optimizer, step: int,
    grad_clip: float | None = None, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> None:
    """One update of ``model`` from the ``loss`` of training step ``step`` (counted from 1).

    A non-finite loss stops training with a clear error before it corrupts the weights. ``grad_clip`` must be
    positive: torch would accept a negative norm and flip every gradient (gradient ascent).
    """
    if grad_clip is not None:
        positive_numbers(grad_clip=grad_clip)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss must be a scalar tensor (reduce it with .mean() or .sum()); got {shape}")
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rate")
    # excerpt begins optimizer step
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # gradients of the loss with respect to every parameter
    if grad_clip is not None:  # rescale them if their norm is larger than grad_clip
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    if scheduler is not None:  # the learning rate of the next step
        scheduler.step()
    # excerpt ends


class BestWeights:
    """The weights of ``model`` with the lowest validation score so far (``score``), and when they were seen."""

    def __init__(self, model: nn.Module) -> None:
        self.score, self.seen, self.state = math.inf, 0, copy.deepcopy(model.state_dict())

    def update(self, model: nn.Module, score: float, seen: int) -> None:
        """Keep a copy of the weights if ``score`` is the lowest yet (``seen``: training tokens so far)."""
        if math.isnan(score):
            raise ValueError(f"score is NaN at {seen} units seen: the validation metric cannot rank these weights")
        if score < self.score:
            self.score, self.seen, self.state = score, seen, copy.deepcopy(model.state_dict())

    def restore(self, model: nn.Module) -> None:
        """Load the best weights back into ``model``."""
        model.load_state_dict(self.state)


def fit(
    model: nn.Module, batches: Callable[[], Iterable[Any]] | Iterable[Any],
    loss_fn: Callable[[nn.Module, Any], torch.Tensor], optimizer: torch.optim.Optimizer, epochs: int = 1,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, grad_clip: float | None = None,
    max_steps: int | None = None, desc: str = "train", dev: torch.device | str | None = None,
    unit: str = "steps", count: Callable[[Any], int] = lambda batch: 1,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``batches`` and return its :class:`History`.

    The model and every batch go to ``dev`` (default :func:`device`: CUDA → MPS → CPU, or ``N2T_DEVICE``);
    the model stays there afterwards. ``batches`` is re-iterated every epoch (or called, if it is a function
    returning an iterable); ``loss_fn(model, batch)`` returns the scalar loss of one batch; ``evaluate(model)``,
    if given, runs after every epoch in eval mode and under ``torch.no_grad`` and returns named metrics. The
    loop stops early after ``max_steps`` steps. A non-finite loss stops training with a clear error instead of
    corrupting the weights. The clock counts ``count(batch)`` ``unit`` per batch (default: steps) and the
    seconds of training, evaluation excluded; every epoch's record holds its reading.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1; got {epochs}")
    if grad_clip is not None:
        positive_numbers(grad_clip=grad_clip)
    dev = device(dev) if dev is None or isinstance(dev, str) else dev
    model.to(dev)  # before the optimizer steps: its state is created lazily, on the parameters' device
    history, clock = History(), Clock(unit, dev)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        epoch_batches = batches() if callable(batches) else batches
        total = len(epoch_batches) if hasattr(epoch_batches, "__len__") else None
        if max_steps is not None and total is not None:
            total = min(total, max_steps - history.steps)
        bar = progress(total=total, desc=f"{desc} epoch {epoch}/{epochs}", leave=True)
        batch_iterator, steps_before = iter(epoch_batches), history.steps
        while max_steps is None or history.steps < max_steps:
            with clock.running():
                batch = next(batch_iterator, None)
                if batch is None:
                    break
                loss = loss_fn(model, to_device(batch, dev))
                try:
                    optimizer_step(loss, model, optimizer, history.steps + 1, grad_clip, scheduler)
                except FloatingPointError:
                    bar.close()
                    raise
            clock.seen += count(batch)
            bar.update(1)
            history.step_loss.append(loss.item())
            if history.steps % 10 == 0:
                bar.set_postfix(loss=f"{history.step_loss[-1]:.3f}", refresh=False)
        bar.close()
        if history.steps == steps_before and (max_steps is None or history.steps < max_steps):
            raise ValueError(f"epoch {epoch} has no batch (batches is empty, or a one-shot iterator already used "
                             f"up: pass a list or a function that returns the batches): nothing to train on")
        history.clock = clock.reading()
        record: dict[str, Any] = {"epoch": epoch, "steps": history.steps, **history.clock}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                record.update(evaluate(model))
        history.epoch_metrics.append(record)
        if max_steps is not None and history.steps >= max_steps:
            break
    history.seconds = time.perf_counter() - start
    return history


@dataclass
class TrainLog:
    """What :func:`train_stream` recorded: every validation checkpoint, the last clock reading, the best one.

    Each checkpoint of ``curve`` holds its step, the clock's reading (:mod:`n2t.clock`) and the validation
    metrics; ``best`` is the checkpoint whose weights the model keeps.
    """

    curve: list[dict[str, Any]]
    clock: dict[str, Any]
    best: dict[str, Any]


def train_stream(
    model: nn.Module, step: Callable[[], tuple[torch.Tensor, int]], steps: int,
    evaluate: Callable[[nn.Module], dict[str, float]], monitor: str, eval_every: int, lr: float,
    weight_decay: float = 0.01, warmup_steps: int = 100, grad_clip: float | None = 1.0, unit: str = "tokens",
    desc: str = "train",
) -> TrainLog:
    """Train ``model`` for ``steps`` steps of ``step() -> (loss, units read)``; the book's streamed training.

    Every model trained on a stream of text (the language models, the biLM, BERT, GPT and T5) goes through
    this loop: AdamW (``weight_decay``), linear warm-up for ``warmup_steps`` then cosine decay to zero at the
    last step, gradients clipped to norm ``grad_clip``. Every ``eval_every`` units (and after the last step)
    ``evaluate(model)`` runs in eval mode, without gradients and off the clock; the weights with the lowest
    ``monitor`` value are kept and loaded back at the end. The model goes to :func:`device` first; ``step``
    reads the model's device for its batches.
    """
    if steps < 1 or eval_every < 1:
        raise ValueError(f"steps and eval_every must be positive; got steps={steps}, eval_every={eval_every}")
    positive_numbers(lr=lr, **({} if grad_clip is None else {"grad_clip": grad_clip}))
    dev = device()
    model.to(dev)
    optimizer = adamw(model, lr, weight_decay)
    scheduler = warmup_cosine(optimizer, min(warmup_steps, steps - 1), steps) if steps > 1 else None
    clock, curve, best = Clock(unit, dev), [], BestWeights(model)
    next_eval = eval_every
    bar = progress(total=steps, desc=desc)
    for index in range(1, steps + 1):
        # excerpt begins training step
        with clock.running():
            model.train()
            loss, read = step()  # the next batch's loss, and how many units it read
            optimizer_step(loss, model, optimizer, index, grad_clip, scheduler)
        clock.seen += read
        # excerpt ends
        bar.update(1)
        if index % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if clock.seen >= next_eval or index == steps:
            model.eval()
            with torch.no_grad():
                checkpoint = {"step": index, **clock.reading(), **evaluate(model)}
            curve.append(checkpoint)
            best.update(model, checkpoint[monitor], clock.seen)
            while next_eval <= clock.seen:
                next_eval += eval_every
            bar.set_postfix(loss=f"{loss.item():.3f}", **{monitor: f"{checkpoint[monitor]:.3f}"}, refresh=False)
    bar.close()
    best.restore(model)
    kept = next((point for point in curve if point[unit] == best.seen), curve[-1])
    return TrainLog(curve, clock.reading(), kept)


def mean_over_batches(
    model: nn.Module, batches: Iterable[Any], total_fn: Callable[[nn.Module, Any], tuple[torch.Tensor, int]]
) -> float:
    """Evaluate ``total_fn(model, batch) -> (sum, count)`` over all batches and return sum / count.

    Every batch goes to the device that holds the model.
    """
    was_training = model.training
    model.eval()
    dev = model_device(model)
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            batch_total, batch_count = total_fn(model, to_device(batch, dev))
            total += float(batch_total)
            count += int(batch_count)
    model.train(was_training)
    if count == 0:
        raise ValueError("batches is empty; nothing to evaluate")
    return total / count


# ------------------------------------------------------------------------------------------ schedules


def warmup_inverse_sqrt(optimizer: torch.optim.Optimizer, d_model: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The Transformer paper's schedule: ``lr = d_model**-0.5 · min(step**-0.5, step · warmup**-1.5)``.

    The optimizer's own learning rate multiplies this factor (set it to 1.0 for the paper's values).
    """
    if warmup < 1:
        raise ValueError(f"warmup must be at least 1 step; got {warmup}")
    positive_ints(d_model=d_model)

    def factor(step: int) -> float:
        step = max(step, 1)
        return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up for ``warmup`` steps, then cosine decay to zero at step ``total``."""
    if not 0 <= warmup < total:
        raise ValueError(f"need 0 <= warmup < total; got warmup={warmup}, total={total}")

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# ---------------------------------------------------------------------------------------- checkpoints


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, **extra: Any) -> None:
    """Save the model's (and optionally the optimizer's) state plus plain ``extra`` values, atomically."""
    state = {"model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    atomic_torch_save(state, path)


def load_checkpoint(
    path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, map_location: Any = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``); returns its ``extra``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(f"checkpoint {path} cannot be read (damaged, or not written by save_checkpoint): "
                         f"{str(error)[:160]}") from error
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"checkpoint {path} has no 'model' entry: it was not written by save_checkpoint")
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if "optimizer" not in state:
            raise KeyError(f"checkpoint {path} holds no optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    return state["extra"]


class Timer:
    """A context manager that measures wall-clock seconds: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def batches_forever(batches: Iterable[Any]) -> Iterator[Any]:
    """Cycle over ``batches`` endlessly (for step-based training)."""
    while True:
        yielded = False
        for batch in batches:
            yielded = True
            yield batch
        if not yielded:
            raise ValueError("batches is empty; cannot cycle over nothing")
