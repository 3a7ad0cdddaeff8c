"""What a renderer may ask about the estate around one device, answered deterministically.

Randomness (MAC addresses, counters, ephemeral ports, process ids) comes from generators seeded
with the device's name, the purpose and a salt, so the same estate always renders the same bytes,
and both ends of a TCP connection agree on its ports without talking to each other.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass

from simulator.estate_model import Connect, Device, Estate, Site

# IEEE OUIs of the makers whose kit is in the estate (VMware for virtual NICs).
OUIS = {
    "cisco": "00:1e:bd",
    "aruba-cx": "88:3a:30",
    "aruba-controller": "20:4c:03",
    "aruba-ap": "20:4c:03",
    "fortigate": "00:09:0f",
    "apc": "00:c0:b7",
    "eaton": "00:20:85",
    "printer-hp": "a0:d3:c1",
    "printer-ricoh": "00:26:73",
    "idrac": "d0:94:66",
    "ilo": "94:57:a5",
    "netapp": "00:a0:98",
    "synology": "00:11:32",
    "axis": "ac:cc:8e",
    "vmware": "00:50:56",
    "dell": "24:6e:96",
    "hpe": "3c:a8:2a",
}
EPHEMERAL = {"windows": (49152, 65535), "linux": (32768, 60999)}


@dataclass(frozen=True, slots=True)
class Session:
    """One established TCP connection as seen from one end."""

    local: str
    local_port: int
    remote: str
    remote_port: int
    process: str | None
    inbound: bool


@dataclass(frozen=True, slots=True)
class Neighbour:
    local_port: str
    device: Device
    remote_port: str


class Context:
    """The estate plus the seeded helpers every renderer uses."""

    def __init__(
        self,
        estate: Estate,
        salt: str = "",
        describer: Callable[[Device, Context], str] | None = None,
    ) -> None:
        self.estate = estate
        self.salt = salt
        self._by_name = {d.name: d for d in estate.devices}
        self._describer = describer
        self._links: dict[str, list[Neighbour]] = {}
        for link in estate.links:
            a, b = self._by_name[link.a], self._by_name[link.b]
            self._links.setdefault(a.name, []).append(Neighbour(link.a_port, b, link.b_port))
            self._links.setdefault(b.name, []).append(Neighbour(link.b_port, a, link.a_port))
        self._clients: dict[str, list[tuple[Device, Connect]]] = {}
        self._children: dict[str, list[Device]] = {}
        for dev in estate.devices:
            for conn in dev.connects:
                self._clients.setdefault(conn.peer, []).append((dev, conn))
            for parent in (dev.host, dev.controller):
                if parent:
                    self._children.setdefault(parent, []).append(dev)

    def describe(self, dev: Device) -> str:
        """The sysDescr ``dev`` reports, as its neighbours hear it over LLDP and CDP."""
        if self._describer is None:
            return dev.model or dev.name
        return self._describer(dev, self)

    @property
    def epoch_ticks(self) -> int:
        return int(self.estate.epoch.timestamp())

    def device(self, name: str) -> Device:
        return self._by_name[name]

    def site(self, dev: Device) -> Site:
        return self.estate.sites[dev.site]

    def location(self, dev: Device) -> str:
        return dev.location or self.site(dev).location

    def fqdn(self, dev: Device) -> str:
        return f"{dev.name}.{self.estate.domain}" if self.estate.domain else dev.name

    def rng(self, dev: Device, purpose: str) -> random.Random:
        seed = hashlib.sha256(f"{self.salt}/{dev.name}/{purpose}".encode()).digest()
        return random.Random(int.from_bytes(seed[:8], "big"))

    def mac(self, dev: Device, n: int = 0, oui: str | None = None) -> bytes:
        """A stable, unique-looking MAC address for NIC ``n`` of ``dev``."""
        prefix = bytes.fromhex((oui or OUIS.get(dev.kind, "02:00:00")).replace(":", ""))
        tail = hashlib.sha256(f"{self.salt}/{dev.name}/mac/{n}".encode()).digest()[:3]
        return prefix + tail

    def uptime_ticks(self, dev: Device) -> int:
        """Hundredths of a second since boot (before the 32-bit wrap)."""
        jitter = self.rng(dev, "uptime").randrange(0, 8_640_000)
        return int(dev.uptime_days * 8_640_000) + jitter

    def interfaces(self, dev: Device) -> list[ipaddress.IPv4Interface]:
        return [ipaddress.IPv4Interface(a) for a in dev.addresses]

    def hosted(self, dev: Device) -> list[Device]:
        return [d for d in self._children.get(dev.name, ()) if d.host == dev.name]

    def joined(self, dev: Device) -> list[Device]:
        return [d for d in self._children.get(dev.name, ()) if d.controller == dev.name]

    def managed(self, dev: Device) -> Device | None:
        return self._by_name.get(dev.manages) if dev.manages else None

    def neighbours(self, dev: Device) -> list[Neighbour]:
        return list(self._links.get(dev.name, ()))

    def _ephemeral(self, client: Device, peer: str, port: int, n: int) -> int:
        low, high = EPHEMERAL.get(client.kind, EPHEMERAL["linux"])
        # sequential from a seeded start, as a client that opens a pool of connections does
        return self.rng(client, f"eph/{peer}/{port}").randrange(low, high - 4096) + 3 * n

    def sessions(self, dev: Device) -> list[Session]:
        """The established connections ``dev`` holds: outbound ones it opened and inbound ones
        its peers opened to the ports it listens on."""
        out = []
        for conn in dev.connects:
            peer = self._by_name[conn.peer]
            for n in range(conn.count):
                out.append(
                    Session(
                        dev.address,
                        self._ephemeral(dev, peer.name, conn.port, n),
                        peer.address,
                        conn.port,
                        conn.process,
                        inbound=False,
                    )
                )
        for client in self.estate.devices:
            for conn in client.connects:
                if conn.peer != dev.name:
                    continue
                for n in range(conn.count):
                    out.append(
                        Session(
                            dev.address,
                            conn.port,
                            client.address,
                            self._ephemeral(client, dev.name, conn.port, n),
                            None,
                            inbound=True,
                        )
                    )
        return out
