"""What a switch hears from the kit cabled to it: who sends LLDP or CDP, and what they say.

A link in the estate is cabling; the neighbour tables follow from what the far end advertises
(Cisco: CDP and LLDP; ESXi standard vSwitches: CDP; NetApp: CDP and LLDP; Aruba, FortiGate,
Axis, HP Jetdirect: LLDP; servers' OSes, BMCs, UPS cards and NAS boxes: nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from simulator import mib2
from simulator.context import Context, Neighbour
from simulator.estate_model import Device

LONG_NAMES = {
    "Fa": "FastEthernet",
    "Gi": "GigabitEthernet",
    "Te": "TenGigabitEthernet",
    "Twe": "TwentyFiveGigE",
    "Fo": "FortyGigabitEthernet",
}
BRIDGE, WLAN_AP, ROUTER, STATION = 1 << 2, 1 << 3, 1 << 4, 1 << 7


def long_name(short: str) -> str:
    m = re.match(r"([A-Za-z]+)(\d.*)$", short)
    if m and m.group(1) in LONG_NAMES:
        return LONG_NAMES[m.group(1)] + m.group(2)
    return short


@dataclass(frozen=True, slots=True)
class Advert:
    """What one far end advertises about itself and the port it is cabled from."""

    lldp: bool
    cdp: bool
    sys_name: str
    device_id: str
    descr: str
    chassis: bytes
    port_id: str | bytes
    port_subtype: int
    port_descr: str
    caps: int
    cdp_caps: int
    platform: str
    address: str


def advert(remote: Device, port: str, ctx: Context) -> Advert:
    kind = remote.kind
    base = Advert(
        lldp=False,
        cdp=False,
        sys_name=remote.name,
        device_id=remote.name,
        descr=ctx.describe(remote),
        chassis=ctx.mac(remote, 99),
        port_id=port,
        port_subtype=5,
        port_descr=port,
        caps=BRIDGE,
        cdp_caps=0x08,
        platform=remote.model or "",
        address=remote.address,
    )
    if kind == "cisco":
        router = remote.device_class == "router"
        return replace(
            base,
            lldp=remote.details.get("lldp", True) is not False,
            cdp=True,
            device_id=ctx.fqdn(remote),
            port_descr=long_name(port),
            caps=ROUTER if router else BRIDGE | ROUTER,
            cdp_caps=0x21 if router else 0x29,
            platform=f"cisco {remote.model}",
        )
    if kind == "aruba-cx":
        return replace(base, lldp=True, caps=BRIDGE | ROUTER)
    if kind == "esxi":
        return replace(base, cdp=True, device_id=ctx.fqdn(remote), platform="VMware ESX")
    if kind in ("aruba-ap", "aruba-controller"):
        caps = BRIDGE | WLAN_AP if kind == "aruba-ap" else BRIDGE
        return replace(base, lldp=True, chassis=ctx.mac(remote, 0), caps=caps)
    if kind == "fortigate":
        return replace(base, lldp=True, sys_name=remote.name.upper(), caps=ROUTER)
    if kind == "netapp":
        node = f"{remote.name}-01"
        return replace(
            base, lldp=True, cdp=True, sys_name=node, device_id=node, caps=STATION, cdp_caps=0x10
        )
    if kind in ("axis", "printer-hp"):
        mac = ctx.mac(remote, 0)
        return replace(base, lldp=True, chassis=mac, port_id=mac, port_subtype=3, caps=STATION)
    return base


def tables(
    dev: Device, ctx: Context, port_index: dict[str, int]
) -> tuple[list[mib2.LldpRemote], list[mib2.CdpEntry]]:
    """LLDP remote rows and CDP cache entries for the links of ``dev``."""
    lldp: list[mib2.LldpRemote] = []
    cdp: list[mib2.CdpEntry] = []
    links: list[Neighbour] = ctx.neighbours(dev)
    for n, link in enumerate(links, start=1):
        local = port_index[link.local_port.lower()]
        ad = advert(link.device, link.remote_port, ctx)
        if ad.lldp:
            lldp.append(
                mib2.LldpRemote(
                    local,
                    n,
                    ad.chassis,
                    ad.port_id,
                    ad.port_subtype,
                    ad.port_descr,
                    ad.sys_name,
                    ad.descr,
                    ad.caps,
                    ad.address,
                )
            )
        if ad.cdp:
            cdp.append(
                mib2.CdpEntry(
                    local,
                    n,
                    ad.address,
                    ad.descr,
                    ad.device_id,
                    long_name(link.remote_port),
                    ad.platform,
                    ad.cdp_caps,
                )
            )
    return lldp, cdp
