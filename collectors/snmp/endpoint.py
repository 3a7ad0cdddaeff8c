"""Where and how to reach an SNMP agent, and the error messages both SNMP engines share.

:class:`SnmpEndpoint` and :class:`SnmpAuth` are re-exported by :mod:`collectors.snmp.client`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from collectors.errors import AuthError, CollectTimeout, ProtocolError, ValueCapExceeded
from collectors.snmp.usm import check_pass_phrase

SnmpVersion = Literal["1", "2c", "3"]
AUTH_PROTOCOL_NAMES = ("SHA", "SHA256")
PRIV_PROTOCOL_NAMES = ("AES",)


@dataclass(frozen=True)
class SnmpAuth:
    """Resolved SNMP credentials. ``repr`` never shows a secret."""

    version: SnmpVersion = "2c"
    community: str | None = field(default=None, repr=False)
    user: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_key: str | None = field(default=None, repr=False)
    auth_proto: str = "SHA"
    priv_proto: str = "AES"
    context: str = ""

    def __post_init__(self) -> None:
        if self.version in ("1", "2c") and not self.community:
            raise ValueError(f"SNMP v{self.version} needs a community")
        if self.version == "3":
            if not self.user:
                raise ValueError("SNMPv3 needs a user name")
            if self.auth_proto not in AUTH_PROTOCOL_NAMES:
                raise ValueError(
                    f"SNMPv3 auth protocol {self.auth_proto!r} is not supported: use SHA or SHA256"
                )
            if self.priv_proto not in PRIV_PROTOCOL_NAMES:
                raise ValueError(f"SNMPv3 privacy protocol {self.priv_proto!r}: use AES")
            if self.auth_key:
                check_pass_phrase(self.auth_key, "the SNMPv3 authentication pass phrase")
            if self.priv_key:
                check_pass_phrase(self.priv_key, "the SNMPv3 privacy pass phrase")

    def security_level(self) -> str:
        if self.version != "3":
            return "community"
        if self.auth_key and self.priv_key:
            return "authPriv"
        return "authNoPriv" if self.auth_key else "noAuthNoPriv"


@dataclass(frozen=True)
class SnmpEndpoint:
    """An agent's address and how hard to ask it.

    ``values_per_request`` is the number of values a walk aims to get in each GETBULK response
    (several columns at once; at most ``max_repetitions`` rows of each). 60 suits agents that
    cap responses (snmpsim answers at most 64 values); net-snmp and most hosts serve a few
    hundred per response, which costs fewer round trips and less CPU per value.
    """

    host: str
    port: int = 161
    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    value_cap: int = 100_000
    values_per_request: int = 60

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"snmp://{host}:{self.port}"


def timeout_error(ep: SnmpEndpoint, auth: SnmpAuth) -> CollectTimeout:
    hint = (
        "check the address, port and that the community is right (a wrong v2c community "
        "is silently ignored by most agents)"
        if auth.version != "3"
        else "check the address and port, that the agent allows this user and the privacy "
        "pass phrase (agents silently drop what they cannot decrypt)"
    )
    return CollectTimeout(
        f"{ep.label}: no response within {ep.timeout:g}s x {ep.retries + 1} tries; {hint}",
        target=ep.label,
    )


def auth_error(ep: SnmpEndpoint, auth: SnmpAuth, reason: object) -> AuthError:
    return AuthError(
        f"{ep.label}: SNMPv3 authentication failed ({reason}); check the user name, "
        f"the {auth.auth_proto}/{auth.priv_proto} protocols and the pass phrases",
        target=ep.label,
    )


def security_error(ep: SnmpEndpoint, reason: str) -> AuthError:
    """An SNMPv3 answer refused by a security check; ``reason`` says which and what to fix."""
    return AuthError(f"{ep.label}: SNMPv3 {reason}", target=ep.label)


def garbage_error(ep: SnmpEndpoint, why: str | None) -> ProtocolError:
    detail = f" ({why})" if why else ""
    return ProtocolError(
        f"{ep.label}: the agent answered with data that is not SNMP{detail}; check that the "
        "port is an SNMP agent's",
        target=ep.label,
    )


def loop_error(ep: SnmpEndpoint, oid: str, after: str) -> ProtocolError:
    return ProtocolError(
        f"{ep.label}: agent returned a non-increasing OID {oid} after {after} "
        "(a GETNEXT loop); the walk was stopped",
        target=ep.label,
    )


def cap_error(ep: SnmpEndpoint) -> ValueCapExceeded:
    return ValueCapExceeded(
        f"{ep.label}: more than {ep.value_cap} values; the table is endless or "
        "the device is bigger than the per-device value cap (raise value_cap)",
        target=ep.label,
    )
