"""The offline guard: refuse every network connection that does not stay on this machine.

The book builds and its tests run with no network. :func:`install` patches :mod:`socket` so that connecting
to anything but loopback (``127.0.0.0/8``, ``::1``, ``localhost``) or a Unix socket raises
:class:`OfflineError` naming the address. ``make test`` and ``make book`` install it in every Python
process, notebook kernels included (``tests/offline/sitecustomize.py``).
"""

from __future__ import annotations

import ipaddress
import socket


class OfflineError(ConnectionRefusedError):
    """A connection to a non-loopback address was attempted while the offline guard was on."""


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def is_loopback(address: object) -> bool:
    """Whether a socket address stays on this machine (loopback IP, ``localhost`` or a Unix socket path)."""
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except (ValueError, TypeError):
        return False


def _guarded(original):
    def connect(self: socket.socket, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            raise OfflineError(f"n2t offline guard: refused a network connection to {address!r}")
        return original(self, address)

    return connect


def install() -> None:
    """Refuse non-loopback connections in this process from now on."""
    socket.socket.connect = _guarded(_original_connect)
    socket.socket.connect_ex = _guarded(_original_connect_ex)


def uninstall() -> None:
    """Restore normal networking."""
    socket.socket.connect = _original_connect
    socket.socket.connect_ex = _original_connect_ex
