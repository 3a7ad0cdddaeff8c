"""SSH collector: read-only, allow-listed commands over paramiko, parsed into :class:`Facts`.

    from collectors.ssh import SshTarget, SshCredentials, collect_ssh, collect_many

    target = SshTarget("10.0.0.5", port=22, username="inventory", known_hosts=Path("known_hosts"))
    facts = collect_ssh(target, SshCredentials(key_file=Path("id_ed25519")))
    results = collect_many([(target, creds), ...], max_workers=8)  # Facts | CollectorError each

Platforms: ``linux`` (and other Unix shells with /proc), ``cisco_ios``, ``cisco_xe``,
``cisco_nxos`` and ``windows`` (OpenSSH with PowerShell); ``SshTarget.platform=None`` detects it
from the SSH banner and a fixed probe command. Commands come only from
``config/ssh/commands.yaml``. Failures raise (or, in ``collect_many``, return) the
``collectors.errors`` types: ``CollectTimeout`` (kind ``timeout``), ``AuthError`` (``auth``),
``ConnectError`` (``connect``), ``HostKeyError`` (``hostkey``; ``reason`` is ``unknown``,
``changed`` or ``revoked``), ``ProtocolError`` (``protocol``), ``CredentialError``
(``credential``: a key file that cannot be read or decrypted).
"""

from collectors.ssh.collector import collect_many, collect_ssh, parse_fetched
from collectors.ssh.hostspec import SshCredentials, SshTarget

__all__ = ["SshCredentials", "SshTarget", "collect_many", "collect_ssh", "parse_fetched"]
