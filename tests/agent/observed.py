"""A scanned pair of servers for dependency tests: h30 (192.0.2.30) connected to PostgreSQL on
h40 (192.0.2.40), as SSH saw it."""

from __future__ import annotations

from datetime import datetime

from agent.store import Store
from collectors.facts import Connection, Facts, Identity, Listening


def client_and_server(store: Store, *, server_saw_it: bool, now: datetime | None = None) -> None:
    """Both servers saved from SSH: h30's connection to h40:5432 as seen on h30 and, when
    ``server_saw_it``, on h40 too."""
    seen_on_server = (Connection("tcp", "192.0.2.40", 5432, "192.0.2.30", 40000, "postgres"),)
    for address, listening, connections in (
        (
            "192.0.2.40",
            (Listening("tcp", "0.0.0.0", 5432, "postgres"),),
            seen_on_server if server_saw_it else (),
        ),
        ("192.0.2.30", (), (Connection("tcp", "192.0.2.30", 40000, "192.0.2.40", 5432),)),
    ):
        facts = Facts(
            target=f"ssh://{address}:22",
            protocol="ssh",
            address=address,
            sys_name=f"h{address.rsplit('.', 1)[1]}",
            identity=Identity(vendor="QEMU", device_class="server", os_name="Linux"),
            listening=listening,
            connections=connections,
        )
        store.save_facts(facts, now=now)
