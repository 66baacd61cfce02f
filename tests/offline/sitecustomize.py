"""Loaded by every Python process started with ``PYTHONPATH=tests/offline`` (make test, make book).

With ``N2T_OFFLINE=1`` it installs n2t's network guard, so a notebook kernel, the site build or a test that
tries to reach a non-loopback address fails loudly instead of silently depending on the network.
"""

import os

if os.environ.get("N2T_OFFLINE") == "1":
    from n2t.offline import install

    install()
