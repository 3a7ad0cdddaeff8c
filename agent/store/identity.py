"""Identity resolution: which stored asset, if any, the Facts of a poll describe.

A poll yields identity keys (its evidence). Every asset that already holds one of those keys is
a candidate, and each candidate gets a score: the weight of each kind of evidence that agrees,
less the weight of each that contradicts (what NetBox, Netdisco and Device42 do when they
reconcile discovered boxes with the inventory, written down here as one table):

=================================================  =======  ===================================
evidence                                           agrees   contradicts
=================================================  =======  ===================================
serial number, within its class family (below)     +100     -150 (-80 when the stored serial
                                                            came from the other protocol)
physical MAC addresses (chassis or interface)      +100     -40 when both sides have some and
                                                            none is in common
id of an imported row                              decides  (the file says which row it is)
host name + the address it was polled at           +50
host name + all of the box's own IPv4 addresses    +50
the same poll target (protocol://address:port)     +25
SNMP engine ID                                     +15      -15
device class family                                         -40 (network, compute, storage,
                                                            power...); a management controller
                                                            against anything else: never the
                                                            same box
=================================================  =======  ===================================

A candidate scoring :data:`MATCH` (50) or more is the box; of several, the highest score wins
(ties: the oldest asset) and an ``identity_conflict`` event names the others. So:

- Strong evidence (serial, MACs, import id) decides on its own unless a different serial, or
  two other things, contradict it; a host name with an address decides only when nothing
  does. (A host ID read over SSH, such as /etc/machine-id or the DMI product UUID, would rank
  with the serial; the SSH collector does not read one yet.)
- Weak evidence (the engine ID, the poll target) never decides, not even both together: cloned
  appliances keep their default engine ID and simulators serve one for all their devices, and
  one address answers for many boxes behind a simulator or NAT.
- A management controller (iLO, iDRAC, XCC, IPMI: class ``bmc``) reports the serial of the
  server it sits in. Serial keys are kept per family (``bmc`` or ``box``), a controller never
  matches its host, and the store links the two ``manages`` (controller -> host) instead.
- A candidate that held this poll's target but that serial, class or MACs contradict has been
  replaced by another box: the poll makes (or finds) its own asset, and the store marks the old
  one replaced, with an event, so that no asset's history flips between two boxes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.facts import Facts

MATCH = 50  # a candidate scoring this much, with no veto, is the box

# Weight of each kind of identity key (its prefix) when a candidate holds it.
WEIGHTS = {
    "serial": 100,
    "mac": 100,
    "import": 100,
    "host": 50,
    "addrs": 50,
    "at": 25,
    "engine": 15,
}
SERIAL_CONFLICT = 150  # the stored serial came from the same protocol: another box
SERIAL_CONFLICT_OTHER_SOURCE = 80  # SNMP's chassis serial and SSH's board serial may differ
MAC_CONFLICT = 40
CLASS_CONFLICT = 40
ENGINE_CONFLICT = 15  # an agent reset makes a new engine ID: news, not another box

BMC = "bmc"
# Device classes that may be told of one box (SNMP says hypervisor, SSH says server); classes in
# different families contradict each other. Classes absent here (unknown, appliance) match any.
CLASS_FAMILIES = {
    "server": "compute",
    "hypervisor": "compute",
    "endpoint": "compute",
    "switch": "network",
    "router": "network",
    "firewall": "network",
    "wireless": "network",
    "storage": "storage",
    "ups": "power",
    "pdu": "power",
    "printer": "printer",
    "camera": "camera",
    BMC: BMC,
}

_BAD_SERIAL = re.compile(
    r"^(?:|n/?a|none|null|unknown|default|serial ?number|system serial number|to be filled.*|"
    r"not (?:available|specified|applicable)|0+|f+|x+|1234.*|0123456789|<private>|-+|\?+)$",
    re.IGNORECASE,
)
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
# MACs that several boxes carry: virtual router MACs (VRRP, HSRP v1/v2, GLBP, Cisco FHRP) and
# the fixed one of Windows' "WAN Miniport (IP)" adapter.
_SHARED_MAC_PREFIXES = (
    "00:00:5e:00:01:",
    "00:00:5e:00:02:",
    "00:00:0c:07:ac:",
    "00:00:0c:9f:f",
    "00:07:b4:00:",
    "50:50:54:50:30:30",
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


def serial_family(device_class: str | None) -> str:
    """The namespace of a serial key: a controller's copy of its host's serial is not the host."""
    return BMC if device_class == BMC else "box"


def serial_key(serial: str, device_class: str | None) -> str:
    return f"serial:{serial_family(device_class)}:{serial.strip().upper()}"


_MAX_OWN_ADDRESSES = 20  # keeps the key within the column; a router's hundred SVIs add nothing

_PHYSICAL_IF_TYPES = {6, 62, 69, 117}  # ethernetCsmacd, fastEther, fastEtherFX, gigabitEthernet


def identity_keys(facts: Facts) -> list[tuple[str, int]]:
    """The poll's evidence as (key, weight): keys are stored per asset, so that the next poll
    holding one of them finds its candidates."""
    keys: list[tuple[str, int]] = []
    ident = facts.identity
    if good_serial(ident.serial):
        keys.append((serial_key(ident.serial or "", ident.device_class), WEIGHTS["serial"]))
    for mac in sorted(_macs(facts)):
        keys.append((f"mac:{mac}", WEIGHTS["mac"]))
    if facts.protocol == "import":
        keys.append((f"import:{facts.target}", WEIGHTS["import"]))
    else:
        keys.append((f"at:{facts.target}"[:400], WEIGHTS["at"]))
    engine = _engine(facts)
    if engine:
        keys.append((f"engine:{engine}", WEIGHTS["engine"]))
    name = (facts.sys_name or "").strip().lower().split(".")[0]
    if name and facts.address:
        keys.append((f"host:{name}@{facts.address}", WEIGHTS["host"]))
    own = own_addresses(facts)
    if name and own:  # at most ~390 characters
        keys.append((f"addrs:{name[:64]}@{','.join(own)}", WEIGHTS["addrs"]))
    return list(dict.fromkeys(keys))


def _engine(facts: Facts) -> str | None:
    engine = (facts.engine_id or "").lower()
    return engine if len(engine) >= 10 and len(set(engine)) > 2 else None


def _macs(facts: Facts) -> set[str]:
    """The box's own burnt-in MACs: the chassis MAC and those of physical interfaces."""
    found: set[str] = set()
    if facts.chassis_id and good_mac(facts.chassis_id.lower()):
        found.add(facts.chassis_id.lower())
    for iface in facts.interfaces:
        mac = (iface.mac or "").lower()
        physical = iface.type in _PHYSICAL_IF_TYPES or (
            iface.type is None and facts.protocol == "ssh"
        )
        if physical and good_mac(mac):
            found.add(mac)
    return found


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


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one poll says about the identity of the box it reached."""

    protocol: str
    target: str
    device_class: str
    serial: str | None  # a usable serial, upper case
    macs: frozenset[str]
    engine_id: str | None
    keys: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, facts: Facts) -> Evidence:
        serial = facts.identity.serial
        return cls(
            protocol=facts.protocol,
            target=facts.target,
            device_class=facts.identity.device_class,
            serial=serial.strip().upper() if serial and good_serial(serial) else None,
            macs=frozenset(_macs(facts)),
            engine_id=_engine(facts),
            keys=tuple(identity_keys(facts)),
        )

    @property
    def target_key(self) -> str:
        return f"at:{self.target}"[:400]


@dataclass(frozen=True, slots=True)
class Known:
    """What the store holds about one candidate asset."""

    asset_id: int
    device_class: str
    serial: str | None
    serial_source: str | None  # the protocol that set the stored serial
    engine_id: str | None
    macs: frozenset[str]  # every MAC key the asset holds
    held: frozenset[str]  # those of the poll's keys that the asset holds


@dataclass(frozen=True, slots=True)
class Score:
    asset_id: int
    total: int
    reasons: tuple[str, ...]
    vetoed: bool  # a management controller against another class: never the same box
    contradicted: bool  # serial, class or MACs say it is another box
    holds_target: bool  # the asset was last seen at this poll's target

    @property
    def matches(self) -> bool:
        return self.total >= MATCH and not self.vetoed

    def explain(self) -> str:
        return f"asset {self.asset_id} scored {self.total}: {', '.join(self.reasons) or 'nothing'}"


def score(ev: Evidence, known: Known) -> Score:
    """Add the weight of what agrees, subtract that of what contradicts (module docstring)."""
    total = 0
    reasons: list[str] = []
    kinds: dict[str, str] = {}
    for key, _weight in ev.keys:
        if key in known.held:
            kinds.setdefault(key.split(":", 1)[0], key)
    for kind, key in kinds.items():
        weight = WEIGHTS.get(kind, 0)
        total += weight
        reasons.append(f"+{weight} {_said(kind, key, ev, known)}")
    vetoed = contradicted = False
    if "import" not in kinds:  # a row imported again: the file's id says which asset it is
        penalty, against, vetoed, contradicted = _contradictions(ev, known)
        total -= penalty
        reasons += against
    return Score(
        asset_id=known.asset_id,
        total=total,
        reasons=tuple(reasons),
        vetoed=vetoed,
        contradicted=contradicted,
        holds_target=ev.target_key in known.held,
    )


def _contradictions(ev: Evidence, known: Known) -> tuple[int, list[str], bool, bool]:
    """What says the candidate is another box: (penalty, reasons, veto, whether class, serial
    or MACs disagree; a new engine ID alone may be an agent reset)."""
    mine, theirs = ev.device_class, known.device_class
    family, their_family = CLASS_FAMILIES.get(mine), CLASS_FAMILIES.get(theirs)
    if family and their_family and (family == BMC) != (their_family == BMC):
        return (
            0,
            [f"veto: class {mine} against {theirs} (a controller is not its host)"],
            True,
            True,
        )
    penalty = 0
    reasons: list[str] = []
    if family and their_family and family != their_family:
        penalty += CLASS_CONFLICT
        reasons.append(f"-{CLASS_CONFLICT} class {mine} against {theirs}")
    stored = (known.serial or "").strip().upper()
    if ev.serial and good_serial(stored) and stored != ev.serial:
        weight = (
            SERIAL_CONFLICT
            if known.serial_source in (None, ev.protocol)
            else SERIAL_CONFLICT_OTHER_SOURCE
        )
        penalty += weight
        reasons.append(f"-{weight} serial {ev.serial} against {stored}")
    if ev.macs and known.macs and not ev.macs & known.macs:
        penalty += MAC_CONFLICT
        reasons.append(f"-{MAC_CONFLICT} no MAC in common")
    decisive = bool(reasons)
    if ev.engine_id and known.engine_id and ev.engine_id != known.engine_id.lower():
        penalty += ENGINE_CONFLICT
        reasons.append(f"-{ENGINE_CONFLICT} another SNMP engine ID")
    return penalty, reasons, False, decisive


def _said(kind: str, key: str, ev: Evidence, known: Known) -> str:
    if kind == "mac":
        shared = sorted(ev.macs & known.macs)
        return f"MAC {shared[0]}" + (f" and {len(shared) - 1} more" if len(shared) > 1 else "")
    return {
        "serial": f"serial {ev.serial}",
        "import": "imported row",
        "host": f"name and address {key.split(':', 1)[1]}",
        "addrs": "name and own addresses",
        "at": "same target",
        "engine": "SNMP engine ID",
    }.get(kind, key)


@dataclass(frozen=True, slots=True)
class Decision:
    chosen: Score | None  # None: no stored asset is this box
    rivals: tuple[Score, ...]  # others that matched too (an identity conflict)
    replaced: tuple[Score, ...]  # held this target, but another box answers there now
    scores: tuple[Score, ...]


def decide(ev: Evidence, candidates: Iterable[Known]) -> Decision:
    scores = tuple(sorted((score(ev, k) for k in candidates), key=lambda s: (-s.total, s.asset_id)))
    matching = [s for s in scores if s.matches]
    chosen = matching[0] if matching else None
    replaced = tuple(s for s in scores if s.holds_target and s.contradicted and not s.matches)
    return Decision(chosen, tuple(matching[1:]), replaced, scores)
