"""The offline guard: nothing in the build or the tests reaches beyond loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

from n2t import offline

ROOT = Path(__file__).resolve().parents[1]
GUARDED_ENV = {"PYTHONPATH": f"{ROOT / 'tests' / 'offline'}", "N2T_OFFLINE": "1"}
# TEST-NET-3 (RFC 5737): an address that is never routed, so the test never really sends anything out.
OUTSIDE = ("203.0.113.7", 80)


@pytest.fixture
def restore_socket():
    """Put socket's entry points back as they were (guarded, in a process that make started) after the test."""
    before = {key: getattr(*key) for key in offline._ORIGINALS}
    yield
    for (owner, name), function in before.items():
        setattr(owner, name, function)


@pytest.fixture
def guard(restore_socket):
    offline.install()
    yield
    offline.uninstall()


@pytest.fixture
def loopback_server():
    server = socket.create_server(("127.0.0.1", 0))
    acceptor = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    acceptor.start()
    yield server.getsockname()
    acceptor.join(timeout=10)  # the test's connection has been accepted before the socket is closed
    server.close()


def test_guard_refuses_outside_connections(guard):
    with pytest.raises(offline.OfflineError, match=r"refused a network connection to .*203\.0\.113\.7"):
        socket.create_connection(OUTSIDE, timeout=1)


def test_guard_allows_loopback(guard, loopback_server):
    with socket.create_connection(loopback_server, timeout=5):
        pass


@pytest.fixture
def recording_guard(monkeypatch, restore_socket):
    """The guard installed over fakes of socket's entry points, which record what would have gone out: a test
    of what the guard lets through never sends a packet or asks a name server."""
    calls = []

    def fake(name):
        def record(*args, **kwargs):
            calls.append(name)
            return 0

        record.__name__ = name
        return record

    monkeypatch.setattr(offline, "_ORIGINALS", {key: fake(key[1]) for key in offline._ORIGINALS})
    offline.install()
    yield calls
    offline.uninstall()


def test_guard_refuses_datagrams_and_name_lookups_without_sending_anything(recording_guard):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(offline.OfflineError, match=r"refused a datagram to \('203\.0\.113\.7', 53\)"):
            udp.sendto(b"x", ("203.0.113.7", 53))
        with pytest.raises(offline.OfflineError, match=r"datagram"):
            udp.sendto(b"x", 0, ("203.0.113.7", 53))
        with pytest.raises(offline.OfflineError, match=r"datagram"):
            udp.sendmsg([b"x"], [], 0, ("203.0.113.7", 53))
        with pytest.raises(offline.OfflineError, match=r"network connection"):
            udp.connect(("203.0.113.7", 53))
        for lookup, argument in [(socket.getaddrinfo, "example.org"), (socket.gethostbyname, "example.org"),
                                 (socket.gethostbyname_ex, "example.org"), (socket.gethostbyaddr, "203.0.113.7"),
                                 (socket.getnameinfo, ("203.0.113.7", 80))]:
            with pytest.raises(offline.OfflineError, match=rf"name look-up \({lookup.__name__}\)"):
                lookup(argument, 0) if lookup in (socket.getaddrinfo, socket.getnameinfo) else lookup(argument)
        assert recording_guard == []  # nothing reached the network
        udp.sendto(b"x", ("127.0.0.1", 9))
        udp.sendmsg([b"x"], [], 0, ("127.0.0.1", 9))
        socket.getaddrinfo("localhost", 80)
        socket.getaddrinfo("203.0.113.7", 80)  # an address written out: nothing to look up
        socket.gethostbyaddr("127.0.0.1")
    assert recording_guard == ["sendto", "sendmsg", "getaddrinfo", "getaddrinfo", "gethostbyaddr"]


def test_uninstall_restores_every_entry_point(restore_socket):
    offline.install()
    assert all(getattr(*key) is not original for key, original in offline._ORIGINALS.items())
    offline.uninstall()
    assert all(getattr(*key) is original for key, original in offline._ORIGINALS.items())


def test_is_loopback():
    assert offline.is_loopback(("127.0.0.1", 1)) and offline.is_loopback(("::1", 1, 0, 0))
    assert offline.is_loopback(("localhost", 8888)) and offline.is_loopback("/tmp/kernel.sock")
    assert not offline.is_loopback(("10.0.0.1", 80)) and not offline.is_loopback(("example.org", 443))


def test_every_python_process_of_make_is_guarded():
    code = "import socket\ntry:\n    socket.create_connection(('203.0.113.7', 80), timeout=1)\nexcept ConnectionRefusedError as e:\n    print(type(e).__name__)"
    env = {**os.environ, **GUARDED_ENV}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "OfflineError", result.stderr


def test_make_runs_builds_and_tests_under_the_guard():
    makefile = (ROOT / "Makefile").read_text()
    assert "N2T_OFFLINE=1" in makefile and "tests/offline" in makefile


def test_notebook_kernels_are_guarded(monkeypatch):
    for key, value in GUARDED_ENV.items():
        monkeypatch.setenv(key, value)
    notebook = jupytext.reads(
        "# %%\nimport socket\ntry:\n    socket.create_connection(('203.0.113.7', 80), timeout=1)\n"
        "    outcome = 'connected'\nexcept ConnectionRefusedError as error:\n    outcome = type(error).__name__\nprint(outcome)\n",
        fmt="py:percent",
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    output = notebook.cells[0].outputs[0]
    assert output["text"].strip() == "OfflineError"
