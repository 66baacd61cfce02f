"""n2t.profile: the quick/full switch."""

from __future__ import annotations

import pytest

from n2t import profile


def test_default_profile_is_full(monkeypatch):
    monkeypatch.delenv("N2T_PROFILE", raising=False)
    assert profile.current().name == "full"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("N2T_PROFILE", "quick")
    assert profile.current().name == "quick"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("N2T_PROFILE", "fast")
    with pytest.raises(ValueError, match="N2T_PROFILE must be one of 'quick', 'full'; got 'fast'"):
        profile.current()
    with pytest.raises(ValueError, match="got 'medium'"):
        profile.Profile("medium")


@pytest.mark.parametrize("section", sorted(profile.SETTINGS))
def test_both_profiles_define_the_same_settings(section):
    quick, full = (profile.SETTINGS[section][name] for name in ("quick", "full"))
    assert set(quick) == set(full), f"section {section!r}: quick and full name different settings"


def test_settings_access():
    cfg = profile.Profile("quick").settings("text_as_data")
    assert cfg.batch_size == cfg["batch_size"]
    assert dict(cfg) == profile.SETTINGS["text_as_data"]["quick"]
    with pytest.raises(AttributeError, match="has no setting 'nope'"):
        _ = cfg.nope
    with pytest.raises(KeyError, match="no profile section"):
        profile.Profile("quick").settings("chapter_99")
