"""Training utilities: device choice, seeding, progress bars, the training loop, schedules, checkpoints."""

from __future__ import annotations

import copy
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

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
    """``obj`` with ``fn`` applied to every tensor in it: a tensor, or tuples, lists, dicts and NamedTuples of them."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
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
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------ progress


class _OneLineBar:
    """A progress bar for built pages and CI logs: silent while it runs, one line when it closes.

    It keeps tqdm's interface (iteration, ``update``, ``set_postfix``, ``close``) and prints
    ``desc: n/total [postfix]`` once, with no rate or time, so a page shows the same line on every build.
    """

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str | None = None,
                 disable: bool = False, **_ignored: Any) -> None:
        self.iterable, self.desc, self.disable = iterable, desc, disable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n, self.postfix, self.closed = total, 0, "", False

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable:
                yield item
                self.n += 1
        finally:
            self.close()

    def __enter__(self) -> _OneLineBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps."""
        self.n += n

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Remember values (e.g. the loss) to print on the closing line."""
        values = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Change the label of the closing line."""
        self.desc = desc

    def refresh(self) -> None:
        """Nothing to redraw: the bar prints only when it closes."""

    def close(self) -> None:
        """Print the one closing line (once)."""
        if self.closed or self.disable:
            self.closed = True
            return
        self.closed = True
        done = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        label = f"{self.desc}: " if self.desc else ""
        print(f"{label}{done}" + (f" [{self.postfix}]" if self.postfix else ""), file=sys.stdout, flush=True)


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str | None = None, **kwargs):
    """A progress bar: a live tqdm widget in JupyterLab; one closing line when ``N2T_PROGRESS=text``.

    ``make book`` and ``make test`` set ``N2T_PROGRESS=text``, so a built page shows at most one tidy line per
    loop (``desc: n/total [loss=…]``, no rates or times); ``N2T_PROGRESS=off`` prints nothing.
    """
    mode = os.environ.get("N2T_PROGRESS", "auto")
    if mode not in ("auto", "text", "off"):
        raise ValueError(f"N2T_PROGRESS must be 'auto', 'text' or 'off'; got {mode!r}")
    if mode == "auto":
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, **kwargs)
    return _OneLineBar(iterable, total=total, desc=desc, disable=mode == "off", **kwargs)


# ----------------------------------------------------------------------------------------- the loop


@dataclass
class History:
    """What a training run recorded: the loss at every step, metrics after every epoch, wall-clock time."""

    step_loss: list[float] = field(default_factory=list)
    epoch_metrics: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        """How many optimisation steps were taken."""
        return len(self.step_loss)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def adamw(model: nn.Module, lr: float, weight_decay: float = 0.01) -> torch.optim.Optimizer:
    """AdamW, fused into one pass over the parameters where the device supports it (a quarter or more of a
    step's time on a CPU when the embedding tables are large)."""
    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def optimizer_step(
    loss: torch.Tensor,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    grad_clip: float | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> None:
    """One update of ``model`` from the ``loss`` of training step ``step`` (counted from 1).

    A non-finite loss stops training with a clear error before it corrupts the weights.
    """
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
        if score < self.score:
            self.score, self.seen, self.state = score, seen, copy.deepcopy(model.state_dict())

    def restore(self, model: nn.Module) -> None:
        """Load the best weights back into ``model``."""
        model.load_state_dict(self.state)


def fit(
    model: nn.Module,
    batches: Callable[[], Iterable[Any]] | Iterable[Any],
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    grad_clip: float | None = None,
    max_steps: int | None = None,
    desc: str = "train",
    dev: torch.device | str | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``batches`` and return its :class:`History`.

    The model and every batch go to ``dev`` (default :func:`device`: CUDA → MPS → CPU, or ``N2T_DEVICE``);
    the model stays there afterwards. ``batches`` is re-iterated every epoch (or called, if it is a function
    returning an iterable); ``loss_fn(model, batch)`` returns the scalar loss of one batch; ``evaluate(model)``,
    if given, runs after every epoch in eval mode and under ``torch.no_grad`` and returns named metrics. The
    loop stops early after ``max_steps`` steps. A non-finite loss stops training with a clear error instead of
    corrupting the weights.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1; got {epochs}")
    dev = device(dev) if dev is None or isinstance(dev, str) else dev
    model.to(dev)  # before the optimizer steps: its state is created lazily, on the parameters' device
    history = History()
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        epoch_batches = batches() if callable(batches) else batches
        total = len(epoch_batches) if hasattr(epoch_batches, "__len__") else None
        if max_steps is not None and total is not None:
            total = min(total, max_steps - history.steps)
        bar = progress(epoch_batches, total=total, desc=f"{desc} epoch {epoch}/{epochs}", leave=True)
        for batch in bar:
            loss = loss_fn(model, to_device(batch, dev))
            try:
                optimizer_step(loss, model, optimizer, history.steps + 1, grad_clip, scheduler)
            except FloatingPointError:
                bar.close()
                raise
            history.step_loss.append(loss.item())
            if history.steps % 10 == 0:
                bar.set_postfix(loss=f"{history.step_loss[-1]:.3f}", refresh=False)
            if max_steps is not None and history.steps >= max_steps:
                break
        bar.close()
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                history.epoch_metrics.append({"epoch": epoch, **evaluate(model)})
        if max_steps is not None and history.steps >= max_steps:
            break
    history.seconds = time.perf_counter() - start
    return history


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
    state = torch.load(path, map_location=map_location, weights_only=True)
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
