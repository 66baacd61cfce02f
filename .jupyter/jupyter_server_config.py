"""The JupyterLab of `make lab` (and of tests/test_lab.py): chapters open as notebooks, nothing phones home.

Loaded through ``JUPYTER_CONFIG_PATH=.jupyter`` (the Makefile's ``lab`` target), so the learner's own Jupyter
configuration is neither needed nor changed. The lab settings' defaults are in lab/settings/overrides.json.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent

# Lab settings defaults (double-click opens a chapter as a notebook; no news, no update check). A learner's
# own choices in Settings still win over them.
c.LabApp.app_settings_dir = str(HERE / "lab" / "settings")

# Nothing leaves this machine: no news feed, no check for a newer JupyterLab, no extension listing from PyPI.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"

# Containers and many cloud machines run everything as root; Jupyter refuses that unless told otherwise.
c.ServerApp.allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
