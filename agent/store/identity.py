"""Identity keys: how one real box is recognised across protocols, addresses and polls.

Strong keys (serial, SNMP engine ID, chassis MAC, physical interface MACs) decide on their own;
the weak keys (host name + the address polled, host name + the box's own addresses) only when no
strong key matched.
"""

from __future__ import annotations

import ipaddress
import re

from collectors.facts import Facts

STRONG = 3
MEDIUM = 2
WEAK = 1

_BAD_SERIAL = re.compile(
    r"^(?:|n/?a|none|null|unknown|default|serial ?number|system serial number|to be filled.*|"
    r"not (?:available|specified|applicable)|0+|f+|x+|1234.*|0123456789|<private>|-+|\?+)$",
    re.IGNORECASE,
)
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
# Virtual router MACs are shared by several boxes: VRRP, HSRP v1/v2, GLBP, Cisco FHRP.
_SHARED_MAC_PREFIXES = (
    "00:00:5e:00:01:",
    "00:00:5e:00:02:",
    "00:00:0c:07:ac:",
    "00:00:0c:9f:f",
    "00:07:b4:00:",
)


def good_serial(serial: str | None) -> bool:
    if serial is None:
        return False
    s = serial.strip()
    return len(s) >= 4 and not _BAD_SERIAL.match(s) and len(set(s.lower())) > 2


def good_mac(mac: str | None) -> bool:
    if not mac or not _MAC.match(mac):
        return False
    first = int(mac[:2], 16)
    if first & 0x01 or first & 0x02:  # multicast or locally administered (containers, VRRP v3...)
        return False
    if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        return False
    return not mac.startswith(_SHARED_MAC_PREFIXES)


_MAX_OWN_ADDRESSES = 20  # keeps the key within the column; a router's hundred SVIs add nothing

_PHYSICAL_IF_TYPES = {6, 62, 69, 117}  # ethernetCsmacd, fastEther, fastEtherFX, gigabitEthernet


def identity_keys(facts: Facts) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    ident = facts.identity
    if good_serial(ident.serial):
        vendor = (ident.vendor or "unknown").lower()
        keys.append((f"serial:{vendor}:{(ident.serial or '').strip().upper()}", STRONG))
    if facts.engine_id and len(facts.engine_id) >= 10 and len(set(facts.engine_id)) > 2:
        keys.append((f"engine:{facts.engine_id.lower()}", STRONG))
    if facts.chassis_id and good_mac(facts.chassis_id.lower()):
        keys.append((f"mac:{facts.chassis_id.lower()}", STRONG))
    for iface in facts.interfaces:
        mac = (iface.mac or "").lower()
        physical = iface.type in _PHYSICAL_IF_TYPES or (
            iface.type is None and facts.protocol == "ssh"
        )
        if physical and good_mac(mac):
            keys.append((f"mac:{mac}", MEDIUM))
    if facts.protocol == "import":
        keys.append((f"import:{facts.target}", STRONG))
    name = (facts.sys_name or "").strip().lower().split(".")[0]
    if name and facts.address:
        keys.append((f"host:{name}@{facts.address}", WEAK))
    own = own_addresses(facts)
    if name and own:
        keys.append((f"addrs:{name[:64]}@{','.join(own)}", WEAK))  # at most ~390 characters
    return list(dict.fromkeys(keys))


def own_addresses(facts: Facts) -> list[str]:
    """The box's own unicast IPv4 addresses, sorted: the same list whichever of them it was
    polled at and over which protocol (loopback and link-local ones are left out).

    With the host name this recognises a box polled at a second address before any strong key
    could link the two, and a second box cloned with the same name still differs by address."""
    found: set[ipaddress.IPv4Address] = set()
    for a in facts.addresses:
        try:
            ip = ipaddress.ip_address(a.address)
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv4Address) and not (
            ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
        ):
            found.add(ip)
    return [str(ip) for ip in sorted(found)][:_MAX_OWN_ADDRESSES]
