"""Collector errors: one root, two levels, each also a matching built-in where it fits.

Messages name the target and, where there is one, the fix.
"""

from __future__ import annotations


class CollectorError(Exception):
    """Root of every error a collector raises on purpose."""

    kind = "error"

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.target = target


class CollectTimeout(CollectorError, TimeoutError):
    kind = "timeout"


class AuthError(CollectorError, PermissionError):
    kind = "auth"


class ConnectError(CollectorError, ConnectionError):
    kind = "connect"


class ProtocolError(CollectorError, ValueError):
    """The peer answered, but with something that is not valid for the protocol."""

    kind = "protocol"


class HostKeyError(CollectorError, PermissionError):
    """An SSH host key was unknown (and trust-on-first-use was off) or has changed.

    ``reason`` is ``unknown``, ``changed`` (record a host-key-changed event) or ``revoked``;
    fingerprints are OpenSSH ``SHA256:...`` strings.
    """

    kind = "hostkey"

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        reason: str = "unknown",
        fingerprint: str | None = None,
        known_fingerprint: str | None = None,
    ) -> None:
        super().__init__(message, target=target)
        self.reason = reason
        self.fingerprint = fingerprint
        self.known_fingerprint = known_fingerprint


class CredentialError(CollectorError, LookupError):
    """A credential reference could not be resolved (missing env var or file)."""

    kind = "credential"


class ValueCapExceeded(CollectorError):
    kind = "value_cap"
