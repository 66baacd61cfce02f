"""The zoo of trained artefacts: train-or-load by name and profile, cached on disk with their metrics.

A chapter never depends on another notebook having run first. It asks ``zoo.get("name")``: the zoo loads the
artefact from the cache (``N2T_CACHE``, default ``~/.cache/n2t``) or trains it with the registered, seeded
recipe. The cache key covers the recipe (its source code and settings), the profile, the library version and the
source of every module of ``n2t``, so editing a recipe, fixing the library or switching profile never returns
a stale artefact. Writes are atomic (a temporary folder
renamed into place) and guarded by a file lock, so two notebooks asking for the same artefact at once train
it once and both read the same result.

A recipe trains with the number of torch threads it was registered with (one unless it says why not), whoever
asks for it, and reports the one compute clock (:mod:`n2t.clock`): its metrics hold a ``"clock"`` reading.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout

import n2t
from n2t.clock import check_reading, torch_threads
from n2t.profile import Profile, Settings, current

# Library modules that register recipes; imported on the first look-up of an unknown name.
RECIPE_MODULES: tuple[str, ...] = (
    "n2t.lm",
    "n2t.nnlm",
    "n2t.word2vec",
    "n2t.transfer",
    "n2t.rnn",
    "n2t.elmo",
    "n2t.seq2seq",
    "n2t.transformer",
    "n2t.pretrain",
    "n2t.text2text",
)


@dataclass(frozen=True)
class Artefact:
    """A trained artefact: its tensors and plain values (``state``), its ``metrics``, and where it is cached."""

    name: str
    profile: str
    state: dict[str, Any]
    metrics: dict[str, Any]
    path: Path


@dataclass(frozen=True)
class Recipe:
    """How to make an artefact: ``train(settings) -> (state, metrics)`` with the settings of ``section``, on
    ``threads`` torch threads."""

    name: str
    section: str
    train: Callable[[Settings], tuple[dict[str, Any], dict[str, Any]]]
    threads: int = 1


_REGISTRY: dict[str, Recipe] = {}
LOCK_NOTICE_SECONDS = 5.0  # a process that waits longer than this for an artefact's lock says what it waits for


def register(name: str, section: str, threads: int = 1) -> Callable:
    """Decorator: register ``train(settings) -> (state, metrics)`` as the recipe of artefact ``name``.

    ``section`` names the profile section whose settings the recipe receives; ``threads`` the torch threads
    it trains with (one: the book's clock, and the same seconds whether ``make book``'s workers or a chapter
    trains it). ``state`` may hold tensors, numbers, strings, lists and dicts (it is saved with ``torch.save``
    and loaded with ``weights_only=True``); ``metrics`` must be JSON-serialisable and hold a ``"clock"``
    reading (:mod:`n2t.clock`).
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive number of torch threads; got {threads!r}")

    def decorator(train: Callable[[Settings], tuple[dict[str, Any], dict[str, Any]]]):
        if name in _REGISTRY and _REGISTRY[name].train.__qualname__ != train.__qualname__:
            raise ValueError(f"artefact {name!r} is already registered by {_REGISTRY[name].train.__qualname__}")
        _REGISTRY[name] = Recipe(name, section, train, threads)
        return train

    return decorator


def cache_dir() -> Path:
    """The cache folder: ``N2T_CACHE`` or ``~/.cache/n2t``."""
    return Path(os.environ.get("N2T_CACHE") or Path.home() / ".cache" / "n2t")


def _recipe(name: str) -> Recipe:
    if name not in _REGISTRY:
        for module in RECIPE_MODULES:
            importlib.import_module(module)
    if name not in _REGISTRY:
        raise KeyError(f"no artefact named {name!r}; known artefacts: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


# The folder whose modules every artefact depends on (a test points it at a copy to edit).
LIBRARY_DIR = Path(n2t.__file__).resolve().parent


def library_digest(folder: Path | None = None) -> str:
    """A sha256 of the source of every module of ``n2t`` (``lib/n2t/*.py``): any library edit changes it.

    An artefact depends on more than its recipe — the model classes, the training loop, the data loaders — so
    the simplest honest rule is to key it on the whole library.
    """
    folder = Path(folder or LIBRARY_DIR)
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(name: str, profile: Profile | None = None) -> str:
    """The cache key of artefact ``name``: a hash of the recipe and its settings, the profile, the library."""
    recipe = _recipe(name)
    profile = profile or current()
    settings = profile.settings(recipe.section)
    material = {
        "name": name,
        "source": inspect.getsource(recipe.train),
        "settings": dict(settings),
        "profile": profile.name,
        "version": n2t.__version__,
        "library": library_digest(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def _entry(name: str, profile: Profile) -> Path:
    return cache_dir() / name / f"{profile.name}-{cache_key(name, profile)}"


class DamagedEntryError(RuntimeError):
    """A cache entry that was complete when written cannot be read back (a truncated or deleted file)."""


def _load(entry: Path, name: str, profile: Profile) -> Artefact:
    try:
        state = torch.load(entry / "state.pt", map_location="cpu", weights_only=True)
        metrics = json.loads((entry / "metrics.json").read_text())
        if not isinstance(metrics, dict):
            raise ValueError(f"metrics.json holds a {type(metrics).__name__}, not a mapping")
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as error:
        raise DamagedEntryError(
            f"the cached artefact {name!r} (profile {profile.name!r}) is damaged and cannot be read: "
            f"{type(error).__name__}: {str(error)[:200]}. Delete its folder {entry} and ask for it again: "
            f"the zoo will retrain it"
        ) from error
    return Artefact(name, profile.name, state, metrics, entry)


def is_cached(name: str, profile: Profile | None = None) -> bool:
    """Whether artefact ``name`` is already in the cache for ``profile`` (default: the current one)."""
    entry = _entry(name, profile or current())
    return (entry / "metrics.json").is_file() and (entry / "state.pt").is_file()


def _wait_for(lock: FileLock, name: str, profile: Profile) -> None:
    """Take the lock of an artefact's entry; while another process holds it (training), say so once."""
    try:
        lock.acquire(timeout=LOCK_NOTICE_SECONDS)
    except Timeout:
        print(f"zoo: waiting for another process to finish training {name!r} (profile {profile.name!r}); it "
              f"holds {lock.lock_file}", flush=True)
        lock.acquire()


def _remove_leftovers(entry: Path) -> None:
    """Remove the temporary folders of writers of ``entry`` that were killed (the caller holds its lock)."""
    for leftover in entry.parent.glob(f".{entry.name}.*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)


def get(name: str, profile: Profile | None = None) -> Artefact:
    """Load artefact ``name`` from the cache, or train it with its recipe, cache it and return it."""
    profile = profile or current()
    recipe = _recipe(name)
    entry = _entry(name, profile)
    if entry.is_dir():
        return _load(entry, name, profile)
    entry.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(entry) + ".lock")
    _wait_for(lock, name, profile)
    try:
        if entry.is_dir():  # another process finished it while we waited
            return _load(entry, name, profile)
        _remove_leftovers(entry)
        start = time.perf_counter()
        with torch_threads(recipe.threads):
            state, metrics = recipe.train(profile.settings(recipe.section))
        if "clock" not in metrics:
            raise ValueError(f"the metrics of artefact {name!r} lack the clock field 'clock' (n2t.clock): a "
                             f"recipe reports what it read and the seconds it trained")
        check_reading(metrics["clock"], f"the metrics of artefact {name!r}: clock")
        metrics = {**metrics, "recipe_seconds": round(time.perf_counter() - start, 3)}
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}.", suffix=".tmp"))
        try:
            torch.save(state, tmp / "state.pt")
            (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
            os.replace(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        lock.release()
    return _load(entry, name, profile)


def metrics(name: str, profile: Profile | None = None) -> dict[str, Any]:
    """The stored metrics of artefact ``name`` (training it first if it is not cached)."""
    return get(name, profile).metrics


def names() -> list[str]:
    """The names of every registered artefact."""
    for module in RECIPE_MODULES:
        importlib.import_module(module)
    return sorted(_REGISTRY)


# ``warm``'s order: the long recipes first, and an artefact's dependencies (the n-gram models before the NNLM's
# mixture, word2vec before the transfer curves, the biLM before ELMo, the pretrained T5 before its fine-tuning)
# well before it, so that a worker seldom waits for the other to finish one.
WARM_ORDER = (
    "ngram-wikitext2", "word2vec-skipgram", "nnlm", "seq2seq-attention-zh-en", "word2vec-cbow", "t5-span",
    "bilm", "seq2seq-zh-en", "lstm-lm", "transformer-zh-en", "t5-scratch-zh-en", "t5-zh-en", "bert-mlm",
    "gpt-lm", "bert-curves", "t5-curves", "transfer-curves", "elmo-transfer-curves", "word2vec-curves",
)


def _warm_one(job: tuple[str, str]) -> tuple[str, float]:
    module, name = job
    importlib.import_module(module)  # the recipe registers itself (a fresh process knows only RECIPE_MODULES)
    start = time.perf_counter()
    get(name)
    return name, time.perf_counter() - start


def warm(jobs: int | None = None, only: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """Train every artefact of the current profile that is not cached yet, ``jobs`` processes at a time.

    A chapter trains what it asks for, one at a time; building the whole book first trains the zoo in parallel
    (``jobs`` default: the cores, at most 4), each recipe on its own thread count. Two processes asking for one
    artefact train it once (the cache's lock). Returns ``(name, seconds)`` in the order they finished.
    """
    wanted = list(only) if only is not None else [*WARM_ORDER, *(n for n in names() if n not in WARM_ORDER)]
    unknown = sorted(set(wanted) - set(names()))
    if unknown:
        raise KeyError(f"no artefacts named {unknown}; known artefacts: {names()}")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1; got {jobs}")
    missing = [name for name in wanted if not is_cached(name)]
    cores = os.cpu_count() or 1
    jobs = min(jobs or min(cores, 4), max(len(missing), 1))
    done: list[tuple[str, float]] = []
    if not missing:
        return done
    context = multiprocessing.get_context("spawn")  # no state shared with this process's torch threads
    with context.Pool(jobs, maxtasksperchild=1) as pool:
        work = [(_recipe(name).train.__module__, name) for name in missing]
        for name, seconds in pool.imap_unordered(_warm_one, work):
            done.append((name, seconds))
            print(f"zoo: {name} ready in {seconds:,.0f} s ({len(done)}/{len(missing)})", flush=True)
    return done


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Train every artefact of the current profile (N2T_PROFILE) "
                                     "that is not cached yet, in parallel processes.")
    parser.add_argument("--jobs", type=int, default=None, help="processes at a time (default: the cores, at most 4)")
    arguments = parser.parse_args()
    from n2t import zoo  # the registry lives in the imported module, not in this __main__ copy

    started = time.perf_counter()
    ready = zoo.warm(arguments.jobs)
    print(f"zoo: {len(ready)} artefacts trained in {time.perf_counter() - started:,.0f} s", flush=True)
