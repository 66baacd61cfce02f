"""n2t.zoo: train-or-load, cache keys, atomic writes, and two processes filling the same entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from n2t import zoo
from n2t.profile import Profile
from tests.helpers import zoo_recipes

ROOT = Path(__file__).resolve().parents[1]


def test_get_trains_once_then_loads(cache, tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv("ZOO_TEST_LOG", str(log))
    first = zoo.get("zoo-test-weights", Profile("quick"))
    second = zoo.get("zoo-test-weights", Profile("quick"))
    assert len(log.read_text().split()) == 1
    assert torch.equal(first.state["weights"], second.state["weights"])
    assert first.state["note"] == "toy"
    assert second.metrics["accuracy"] == 0.5 and second.metrics["recipe_seconds"] >= 0
    assert second.metrics["threads_seen"] == 1 == second.metrics["clock"]["threads"]  # the recipe's count
    assert zoo.is_cached("zoo-test-weights", Profile("quick"))
    assert second.path.parent.parent == cache


def test_profile_is_part_of_the_key(cache):
    quick = zoo.get("zoo-test-weights", Profile("quick"))
    full = zoo.get("zoo-test-weights", Profile("full"))
    assert quick.state["weights"].numel() == 3 and full.state["weights"].numel() == 5
    assert quick.path != full.path


def test_key_changes_with_settings_and_version(cache, monkeypatch):
    before = zoo.cache_key("zoo-test-weights", Profile("quick"))
    monkeypatch.setitem(zoo_recipes.profile.SETTINGS["zoo_test"]["quick"], "size", 4)
    assert zoo.cache_key("zoo-test-weights", Profile("quick")) != before
    monkeypatch.undo()
    monkeypatch.setattr(zoo.n2t, "__version__", "99.0")
    assert zoo.cache_key("zoo-test-weights", Profile("quick")) != before


def test_key_changes_when_any_library_module_changes(cache, tmp_path, monkeypatch):
    library = tmp_path / "n2t"
    library.mkdir()
    for module in zoo.LIBRARY_DIR.glob("*.py"):
        (library / module.name).write_bytes(module.read_bytes())
    monkeypatch.setattr(zoo, "LIBRARY_DIR", library)
    before = zoo.cache_key("zoo-test-weights", Profile("quick"))
    assert zoo.cache_key("zoo-test-weights", Profile("quick")) == before  # the key is stable
    for name in ("train.py", "attention.py", "data.py"):  # not the recipe's own module
        edited = library / name
        original = edited.read_text()
        edited.write_text(original + "\n# a fix\n")
        assert zoo.cache_key("zoo-test-weights", Profile("quick")) != before, f"editing {name} kept the key"
        edited.write_text(original)
    assert zoo.cache_key("zoo-test-weights", Profile("quick")) == before
    (library / "new_module.py").write_text("x = 1\n")
    assert zoo.cache_key("zoo-test-weights", Profile("quick")) != before


def test_failed_training_leaves_nothing_behind(cache, monkeypatch):
    monkeypatch.setenv("ZOO_TEST_FAIL", "1")
    with pytest.raises(RuntimeError, match="on purpose"):
        zoo.get("zoo-test-weights", Profile("quick"))
    assert not zoo.is_cached("zoo-test-weights", Profile("quick"))
    entries = [p for p in (cache / "zoo-test-weights").iterdir() if not p.name.endswith(".lock")]
    assert entries == []


def test_unknown_artefact_is_a_clear_error(cache):
    with pytest.raises(KeyError, match="no artefact named 'gpt-17'"):
        zoo.get("gpt-17")


def test_cached_state_loads_with_weights_only(cache):
    artefact = zoo.get("zoo-test-weights", Profile("quick"))
    torch.load(artefact.path / "state.pt", weights_only=True)  # raises if anything but data was pickled


def test_two_processes_fill_the_same_entry_once(cache, tmp_path):
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "N2T_CACHE": str(cache),
        "N2T_PROFILE": "quick",
        "ZOO_TEST_LOG": str(log),
        "ZOO_TEST_SLEEP": "1.5",
        "PYTHONPATH": str(ROOT),
    }
    outputs = [tmp_path / "out-1.txt", tmp_path / "out-2.txt"]
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.helpers.zoo_recipes"], env={**env, "ZOO_TEST_OUT": str(out)}, cwd=ROOT)
        for out in outputs
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    assert len(log.read_text().split()) == 1, "the artefact was trained more than once"
    assert outputs[0].read_text() == outputs[1].read_text()
    leftovers = [p.name for p in (cache / "zoo-test-weights").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_warm_trains_what_is_missing_in_other_processes(cache, tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv("ZOO_TEST_LOG", str(log))
    monkeypatch.setenv("N2T_PROFILE", "quick")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the worker imports the toy recipe's module
    ready = zoo.warm(jobs=2, only=["zoo-test-weights"])
    assert [name for name, _ in ready] == ["zoo-test-weights"]
    assert zoo.is_cached("zoo-test-weights", Profile("quick"))
    assert log.read_text().split() != [str(os.getpid())]  # trained in a worker process
    assert zoo.warm(jobs=2, only=["zoo-test-weights"]) == []  # cached: nothing to do
    with pytest.raises(KeyError, match="no-such-artefact"):
        zoo.warm(only=["no-such-artefact"])


def test_warm_order_names_every_artefact_of_the_library():
    assert sorted(zoo.WARM_ORDER) == sorted(n for n in zoo.names() if not n.startswith("zoo-test"))


def test_a_recipe_trains_with_its_own_thread_count_whoever_asks(cache):
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        artefact = zoo.get("zoo-test-weights", Profile("quick"))
        assert artefact.metrics["threads_seen"] == 1 and torch.get_num_threads() == 2  # restored after
    finally:
        torch.set_num_threads(previous)


def test_a_recipe_without_a_clock_is_refused(cache, monkeypatch):
    recipe = zoo._recipe("zoo-test-weights")
    monkeypatch.setitem(zoo._REGISTRY, "zoo-test-weights",
                        zoo.Recipe(recipe.name, recipe.section, lambda settings: ({"w": torch.zeros(1)}, {})))
    with pytest.raises(ValueError, match="lack the clock field"):
        zoo.get("zoo-test-weights", Profile("quick"))
    assert not zoo.is_cached("zoo-test-weights", Profile("quick"))


@pytest.mark.parametrize("jobs", [0, -1])
def test_warm_needs_at_least_one_job(jobs):
    with pytest.raises(ValueError, match=f"jobs must be at least 1; got {jobs}"):
        zoo.warm(jobs=jobs, only=[])


# ------------------------------------------------------------------------- damaged entries, waits, leftovers


@pytest.mark.parametrize("damage", ["truncated state", "empty state", "bad metrics", "missing state"])
def test_a_damaged_entry_names_the_artefact_and_the_fix(cache, damage):
    # A complete entry damaged afterwards (a disk, a copy gone wrong) surfaced as raw torch or json errors that
    # named neither the artefact nor the folder to delete (issue 22).
    entry = zoo.get("zoo-test-weights", Profile("quick")).path
    state = entry / "state.pt"
    if damage == "truncated state":
        state.write_bytes(state.read_bytes()[:40])
    elif damage == "empty state":
        state.write_bytes(b"")
    elif damage == "bad metrics":
        (entry / "metrics.json").write_text('{"accuracy": 0.5, "clo')
    else:
        state.unlink()
    with pytest.raises(zoo.DamagedEntryError, match=rf"'zoo-test-weights' \(profile 'quick'\) is damaged.*"
                       rf"Delete its folder {entry}"):
        zoo.get("zoo-test-weights", Profile("quick"))
    assert zoo.is_cached("zoo-test-weights", Profile("quick")) == (damage != "missing state")


def test_a_killed_writers_temporary_folder_is_removed(cache, tmp_path, monkeypatch):
    key = zoo.cache_key("zoo-test-weights", Profile("quick"))
    folder = cache / "zoo-test-weights"
    leftover = folder / f".quick-{key}.x3a9aign.tmp"  # what a writer killed before its rename leaves
    leftover.mkdir(parents=True)
    (leftover / "state.pt").write_bytes(b"half a file")
    other = folder / ".quick-0123456789abcdef.k1ll3d.tmp"  # another entry's: not ours to judge
    other.mkdir()
    zoo.get("zoo-test-weights", Profile("quick"))
    assert not leftover.exists() and other.exists()


def test_a_waiting_process_says_what_it_waits_for(cache, monkeypatch, capsys):
    import threading
    import time

    from filelock import FileLock

    monkeypatch.setattr(zoo, "LOCK_NOTICE_SECONDS", 0.05)
    entry = zoo._entry("zoo-test-weights", Profile("quick"))
    entry.parent.mkdir(parents=True)
    held = threading.Event()

    def hold() -> None:  # another process, training it for half a second
        with FileLock(str(entry) + ".lock"):
            held.set()
            time.sleep(0.5)

    threading.Thread(target=hold).start()
    held.wait(timeout=10)
    artefact = zoo.get("zoo-test-weights", Profile("quick"))
    assert artefact.state["note"] == "toy"
    out = capsys.readouterr().out
    assert "zoo: waiting for another process to finish training 'zoo-test-weights' (profile 'quick')" in out
    assert str(entry) + ".lock" in out
