"""The offline guard: refuse everything that would reach the network from this machine.

The book builds and its tests run with no network. :func:`install` patches :mod:`socket` so that a connection
(TCP ``connect``/``connect_ex``), a datagram (UDP ``sendto``/``sendmsg``) or a name look-up (``getaddrinfo``,
``gethostbyname``, ``gethostbyaddr``, ``getnameinfo``: DNS) for anything but loopback (``127.0.0.0/8``, ``::1``,
``localhost``) or a Unix socket raises :class:`OfflineError` naming the address, before anything is sent.
``make test`` and ``make book`` install it in every Python process, notebook kernels included
(``tests/offline/sitecustomize.py``).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from typing import Any


class OfflineError(ConnectionRefusedError):
    """A connection to a non-loopback address was attempted while the offline guard was on."""


# the unguarded entry points, restored by uninstall(): (owner, name) → function
_ORIGINALS: dict[tuple[Any, str], Callable[..., Any]] = {
    (owner, name): getattr(owner, name)
    for owner, names in (
        (socket.socket, ("connect", "connect_ex", "sendto", "sendmsg")),
        (socket, ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")),
    )
    for name in names
}


def is_loopback(address: object) -> bool:
    """Whether a socket address stays on this machine (loopback IP, ``localhost`` or a Unix socket path)."""
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    return _is_loopback_host(address[0] if isinstance(address, tuple) and address else address)


def _is_loopback_host(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except (ValueError, TypeError):
        return False


def _is_ip_literal(host: object) -> bool:
    """An IP address written out: ``getaddrinfo`` returns it without asking a name server."""
    try:
        ipaddress.ip_address(host.decode(errors="replace") if isinstance(host, bytes) else host)
    except (ValueError, TypeError):
        return False
    return True


def _refuse(what: str, address: object) -> None:
    raise OfflineError(f"n2t offline guard: refused {what} {address!r} (the book and its tests run offline)")


def _guard_socket_method(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``connect(address)``, ``connect_ex(address)``, ``sendto(data[, flags], address)`` and
    ``sendmsg(buffers[, ancdata[, flags[, address]]])`` on an internet socket: refused unless to loopback."""
    what = "a datagram to" if name.startswith("send") else "a network connection to"

    @functools.wraps(original)
    def guarded(self: socket.socket, *args: Any) -> Any:
        if name == "sendto":
            address = args[-1] if len(args) >= 2 else None
        elif name == "sendmsg":
            address = args[3] if len(args) >= 4 else None
        else:
            address = args[0] if args else None
        if address is not None and self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            _refuse(what, address)
        return original(self, *args)

    return guarded


def _guard_lookup(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A name look-up: ``localhost``, a loopback address and (forwards) an IP literal need no name server."""

    @functools.wraps(original)
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if name == "getnameinfo":  # (host, port) → names: a reverse look-up
            allowed = _is_loopback_host(host[0] if isinstance(host, tuple) and host else host)
        elif name == "gethostbyaddr":  # a reverse look-up
            allowed = _is_loopback_host(host)
        else:
            allowed = host is None or _is_loopback_host(host) or _is_ip_literal(host)
        if not allowed:
            _refuse(f"a name look-up ({name}) of", host)
        return original(host, *args, **kwargs)

    return guarded


def install() -> None:
    """Refuse non-loopback connections, datagrams and name look-ups in this process from now on."""
    for (owner, name), original in _ORIGINALS.items():
        guard = _guard_socket_method if owner is socket.socket else _guard_lookup
        setattr(owner, name, guard(original, name))


def uninstall() -> None:
    """Restore normal networking."""
    for (owner, name), original in _ORIGINALS.items():
        setattr(owner, name, original)
