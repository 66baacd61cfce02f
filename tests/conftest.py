"""Shared fixtures for the unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty artefact cache for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("N2T_CACHE", str(path))
    return path


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """A private copy of the small shipped data files (plus SHA256SUMS) that a test may damage."""
    root = tmp_path / "data"
    for name in ("SHA256SUMS", "wordsim353/wordsim353.tsv", "men/MEN_dataset_natural_form_full"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "data" / name, root / name)
    monkeypatch.setenv("N2T_DATA", str(root))
    return root


@pytest.fixture
def one_thread():
    """Tiny tensors: one torch thread is fastest, and it does not fight other processes for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
