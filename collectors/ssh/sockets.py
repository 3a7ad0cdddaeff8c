"""Pure parsers for socket tables: ``ss -tanpH`` / ``ss -ulnpH`` and ``/proc/net/{tcp,udp}{,6}``.

Listening sockets (TCP LISTEN, unconnected UDP) become :class:`Listening`; established TCP
connections become :class:`Connection`. Addresses are normalised: brackets and ``%zone`` are
dropped, ``*`` becomes ``0.0.0.0`` and IPv4-mapped IPv6 (``::ffff:10.0.0.1``) becomes IPv4, so a
connection can be matched with the other host's listening port.

    >>> parse_ss('LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=812,fd=3))', "tcp")[0]
    [Listening(proto='tcp', address='0.0.0.0', port=22, process='sshd', pid=812)]
"""

from __future__ import annotations

import ipaddress
import re

from collectors.facts import Connection, Listening

_SS_LINE = re.compile(
    r"^(?:(?P<netid>tcp|udp|tcp6|udp6)\s+)?(?P<state>[A-Z][A-Z0-9-]*)\s+\d+\s+\d+\s+"
    r"(?P<local>\S+)\s+(?P<peer>\S+)(?:\s+(?P<proc>.*))?$"
)
_SS_PROCESS = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+)')
_LISTEN_STATES = {"tcp": {"LISTEN"}, "udp": {"UNCONN"}}
_PROC_STATES = {"01": "established", "0A": "listen", "07": "close"}


def parse_ss(text: str, proto: str) -> tuple[list[Listening], list[Connection], int]:
    """Listening sockets, established connections, and how many sockets had no visible process."""
    listening: list[Listening] = []
    connections: list[Connection] = []
    hidden = 0
    for line in text.splitlines():
        match = _SS_LINE.match(line.strip())
        if not match or match["state"] in {"State", "Netid"}:
            continue
        local = split_endpoint(match["local"])
        peer = split_endpoint(match["peer"])
        if local is None:
            continue
        process, pid = None, None
        if match["proc"]:
            found = _SS_PROCESS.search(match["proc"])
            if found:
                process, pid = found[1], int(found[2])
        state = match["state"]
        is_listen = state in _LISTEN_STATES.get(proto, set())
        if (is_listen or state == "ESTAB") and process is None:
            hidden += 1
        if is_listen:
            listening.append(Listening(proto, local[0], local[1], process, pid))
        elif state == "ESTAB" and proto == "tcp" and peer is not None:
            connections.append(
                Connection(proto, local[0], local[1], peer[0], peer[1], process, pid)
            )
    return listening, connections, hidden


def split_endpoint(text: str) -> tuple[str, int] | None:
    """``[::1]:22`` / ``10.0.0.1%eth0:53`` / ``*:22`` -> (address, port); None for ``*:*``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    host = host.strip("[]").split("%", 1)[0]
    return normalise_address(host), int(port)


def normalise_address(host: str) -> str:
    if host in {"*", ""}:
        return "0.0.0.0"  # noqa: S104 - a wildcard socket, not a bind
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def parse_proc_net(
    text: str, proto: str, *, big_endian: bool = False
) -> tuple[list[Listening], list[Connection]]:
    """``/proc/net/tcp`` (or tcp6, udp, udp6) rows; the owning process is not known there."""
    listening: list[Listening] = []
    connections: list[Connection] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].rstrip(":").isdigit():
            continue
        local = _proc_endpoint(fields[1], big_endian)
        remote = _proc_endpoint(fields[2], big_endian)
        state = _PROC_STATES.get(fields[3].upper())
        if local is None or remote is None:
            continue
        if proto == "tcp" and state == "listen":
            listening.append(Listening("tcp", local[0], local[1]))
        elif proto == "udp" and state == "close" and remote[1] == 0:
            listening.append(Listening("udp", local[0], local[1]))
        elif proto == "tcp" and state == "established":
            connections.append(Connection("tcp", local[0], local[1], remote[0], remote[1]))
    return listening, connections


def _proc_endpoint(text: str, big_endian: bool) -> tuple[str, int] | None:
    """``0100007F:0016`` -> ("127.0.0.1", 22). Addresses are 32-bit words in host byte order."""
    hexaddr, sep, hexport = text.partition(":")
    if not sep or len(hexaddr) not in {8, 32}:
        return None
    try:
        raw = bytes.fromhex(hexaddr)
        port = int(hexport, 16)
    except ValueError:
        return None
    if not big_endian:
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    addr = ipaddress.ip_address(raw)
    return normalise_address(str(addr)), port
