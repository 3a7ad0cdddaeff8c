"""One-off probes for ``cloudward probe``: poll a single target now, store nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agent.configuration.config_file import Settings, SnmpCommunityCred, SnmpV3Cred, SshCred
from agent.configuration.secrets import read_secret_env
from agent.inventory.targets import snmp_auth, snmp_endpoint, ssh_credentials
from collectors.facts import Facts
from collectors.snmp.client import SnmpAuth, SnmpClient
from collectors.snmp.fetch import SnmpTarget, collect_snmp
from collectors.snmp.identify import load_rules
from collectors.ssh import SshCredentials, SshTarget, collect_ssh


def _snmp_auth_from_options(
    settings: Settings, credential: str | None, opts: dict[str, Any]
) -> SnmpAuth:
    if credential:
        cred = settings.credentials.get(credential)
        if cred is None:
            raise click.UsageError(
                f"no credential named {credential!r} in the configuration "
                f"(defined: {', '.join(sorted(settings.credentials)) or 'none'})"
            )
        if not isinstance(cred, SnmpCommunityCred | SnmpV3Cred):
            raise click.UsageError(f"credential {credential!r} is not an SNMP credential")
        return snmp_auth(settings, credential)
    if opts.get("v3_user"):
        if not opts.get("v3_auth_env") or not opts.get("v3_priv_env"):
            raise click.UsageError(
                "SNMPv3 needs --v3-auth-env VAR and --v3-priv-env VAR "
                "(authPriv; pass phrases are read from the environment)"
            )
        return SnmpAuth(
            version="3",
            user=opts["v3_user"],
            auth_key=read_secret_env(opts["v3_auth_env"]),
            priv_key=read_secret_env(opts["v3_priv_env"]),
            auth_proto=opts.get("v3_auth_proto") or "SHA",
            priv_proto=opts.get("v3_priv_proto") or "AES",
        )
    if opts.get("community_env"):
        return SnmpAuth(
            version=opts.get("snmp_version") or "2c",
            community=read_secret_env(opts["community_env"]),
        )
    raise click.UsageError(
        "no SNMP credentials: pass --community-env VAR (v1/v2c), or --v3-user NAME "
        "--v3-auth-env VAR --v3-priv-env VAR (v3), or --credential NAME with --config FILE"
    )


async def probe_snmp(
    settings: Settings, host: str, port: int | None, credential: str | None, opts: dict[str, Any]
) -> Facts:
    auth = _snmp_auth_from_options(settings, credential, opts)
    ep = snmp_endpoint(settings, host, port or settings.defaults.snmp.port)
    if opts.get("timeout") is not None or opts.get("retries") is not None:
        from dataclasses import replace

        ep = replace(
            ep,
            timeout=opts.get("timeout") or ep.timeout,
            retries=ep.retries if opts.get("retries") is None else opts["retries"],
        )
    client = SnmpClient(opts.get("snmp_engine") or settings.snmp.engine)
    try:
        return await collect_snmp(client, SnmpTarget(ep, auth), load_rules())
    finally:
        client.close()


def probe_ssh(
    settings: Settings,
    user: str | None,
    host: str,
    port: int | None,
    credential: str | None,
    opts: dict[str, Any],
) -> Facts:
    d = settings.defaults.ssh
    key_file: Path | None = Path(opts["ssh_key"]) if opts.get("ssh_key") else None
    passphrase = (
        read_secret_env(opts["ssh_key_passphrase_env"])
        if opts.get("ssh_key_passphrase_env")
        else None
    )
    password = read_secret_env(opts["ssh_password_env"]) if opts.get("ssh_password_env") else None
    if credential:
        cred = settings.credentials.get(credential)
        if not isinstance(cred, SshCred):
            raise click.UsageError(f"no ssh credential named {credential!r} in the configuration")
        ref = ssh_credentials(settings, credential)
        user = user or ref.user
        key_file, passphrase, password = ref.key_file, ref.passphrase, ref.password
    if not user:
        raise click.UsageError("give the user in the URL: ssh://USER@HOST[:PORT]")
    if key_file is None and password is None:
        raise click.UsageError(
            "no SSH credentials: pass --ssh-key FILE (or --ssh-password-env "
            "VAR), or --credential NAME with --config FILE"
        )
    known = Path(opts["known_hosts"]) if opts.get("known_hosts") else d.known_hosts
    timeout = opts.get("timeout")
    target = SshTarget(
        host,
        port=port or d.port,
        username=user,
        known_hosts=known,
        tofu=bool(opts.get("tofu")) or d.trust_on_first_use,
        platform=opts.get("platform"),
        connect_timeout=timeout or d.connect_timeout,
        command_timeout=d.command_timeout,
    )
    return collect_ssh(
        target, SshCredentials(key_file=key_file, key_passphrase=passphrase, password=password)
    )
