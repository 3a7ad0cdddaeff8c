"""Synthetic fleets for benchmarks: copies of the demo estate with their own names, addresses,
serial numbers and MAC addresses, rendered to snmprec text.

Copy ``k`` of the estate renames every device ``<name>-<k>``, moves each /24 the estate uses to
a /24 of its own inside 10.0.0.0/8 (so a copy's devices still connect to each other, and copies
never share an address), and redraws serial numbers digit for digit and letter for letter from a
generator seeded with ``seed``. The same ``(n, seed)`` always gives the same files.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import random
import re
from dataclasses import replace

from simulator.context import Context
from simulator.estate import describe, load_estate, render_device
from simulator.estate_model import Connect, Device, Estate, Link

FLEET_SPACE = ipaddress.IPv4Network("10.0.0.0/8")


def _subnets(estate: Estate) -> list[ipaddress.IPv4Network]:
    """The /24s the estate's addresses fall in; each copy gets its own set of them."""
    return sorted(
        {
            ipaddress.IPv4Network(f"{ipaddress.IPv4Interface(a).ip}/24", strict=False)
            for d in estate.devices
            for a in d.addresses
        }
    )


def _vary_serial(serial: str | None, rng: random.Random) -> str | None:
    """Same shape, new characters: keep the leading letters (a maker's prefix), redraw the rest."""
    if not serial:
        return serial
    if re.fullmatch(r"[0-9A-F]{12}", serial):  # a MAC address (Axis): keep the maker's OUI
        return serial[:6] + f"{rng.getrandbits(24):06X}"
    head = len(serial) - len(serial.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    out = []
    for ch in serial[head:]:
        if ch.isdigit():
            out.append(str(rng.randrange(10)))
        elif ch.isalpha():
            out.append(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"))
        else:
            out.append(ch)
    return serial[:head] + "".join(out)


def _copy(
    estate: Estate, k: int, seed: int, subnets: list[ipaddress.IPv4Network]
) -> tuple[list[Device], list[Link]]:
    per_copy = len(subnets)
    moved = {}
    for j, net in enumerate(subnets):
        block = k * per_copy + j
        if block >= FLEET_SPACE.num_addresses // 256:
            raise ValueError("the fleet is too large for 10.0.0.0/8; render fewer copies")
        moved[net] = ipaddress.IPv4Network((int(FLEET_SPACE.network_address) + block * 256, 24))

    def address(text: str) -> str:
        iface = ipaddress.IPv4Interface(text)
        for old, new in moved.items():
            if iface.ip in old:
                ip = ipaddress.IPv4Address(
                    int(new.network_address) + int(iface.ip) - int(old.network_address)
                )
                return f"{ip}/{iface.network.prefixlen}"
        return text

    def name(old: str | None) -> str | None:
        return f"{old}-{k:04d}" if old else old

    devices = []
    for dev in estate.devices:
        digest = hashlib.sha256(f"{seed}/{k}/{dev.name}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        devices.append(
            replace(
                dev,
                name=f"{dev.name}-{k:04d}",
                sys_name=name(dev.sys_name),
                addresses=tuple(address(a) for a in dev.addresses),
                serial=_vary_serial(dev.serial, rng),
                host=name(dev.host),
                manages=name(dev.manages),
                controller=name(dev.controller),
                connects=tuple(
                    Connect(f"{c.peer}-{k:04d}", c.port, c.count, c.process) for c in dev.connects
                ),
            )
        )
    links = [Link(f"{x.a}-{k:04d}", x.a_port, f"{x.b}-{k:04d}", x.b_port) for x in estate.links]
    return devices, links


def render_fleet(n: int, seed: int, estate: Estate | None = None) -> dict[str, str]:
    """``n`` recordings (community -> snmprec text) cycling through the estate's devices."""
    if n < 0:
        raise ValueError("n must be zero or more")
    base = estate if estate is not None else load_estate()
    recorded = [d for d in base.devices if d.record]
    if n == 0 or not recorded:
        return {}
    subnets = _subnets(base)
    devices: list[Device] = []
    links: list[Link] = []
    for k in range(math.ceil(n / len(recorded))):
        copy_devices, copy_links = _copy(base, k, seed, subnets)
        devices += copy_devices
        links += copy_links
    fleet = replace(base, devices=tuple(devices), links=tuple(links))
    ctx = Context(fleet, f"fleet/{seed}", describe)
    out: dict[str, str] = {}
    for dev in fleet.devices:
        if dev.record and len(out) < n:
            out[dev.name] = render_device(dev, ctx)
    return out
