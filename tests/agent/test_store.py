"""Store tests: run on SQLite and on PostgreSQL (the `store` fixture is parametrised)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agent.store import tables as m
from collectors.facts import (
    Address,
    Connection,
    Facts,
    HardwareComponent,
    Identity,
    Interface,
    Listening,
    Neighbor,
    Software,
    Storage,
)

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def switch_facts(**kw: object) -> Facts:
    base = Facts(
        target="snmp://192.0.2.10:161",
        protocol="snmp",
        address="192.0.2.10",
        sys_name="core-sw-01",
        sys_location="Town Hall comms room",
        identity=Identity(
            vendor="Cisco",
            device_class="switch",
            model="WS-C2960X-48FPD-L",
            os_name="IOS",
            os_version="15.2(7)E4",
            serial="FOC1234X0AB",
            evidence={"vendor": "sysObjectID enterprise 9"},
        ),
        engine_id="800000090300aabbccddeeff",
        interfaces=(
            Interface(1, "Gi1/0/1", mac="00:1b:54:aa:00:01", speed=1_000_000_000, type=6),
            Interface(2, "Gi1/0/2", mac="00:1b:54:aa:00:02", speed=1_000_000_000, type=6),
        ),
        addresses=(Address("192.0.2.10", 24, 1),),
        software=(Software("IOS", "15.2(7)E4", kind="os"),),
        hardware=(
            HardwareComponent(1, "chassis", model="WS-C2960X-48FPD-L", serial="FOC1234X0AB"),
        ),
        storage=(Storage("flash:", "flash", 128_000_000, 64_000_000),),
        neighbors=(Neighbor("cdp", "Gi1/0/1", "dist-sw-01", "Gi0/1", "dist-sw-01"),),
        values_read=321,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_save_and_read_back(store) -> None:
    run = store.start_poll("snmp://192.0.2.10:161", "snmp", site="town-hall", started_at=T0)
    asset_id = store.save_facts(switch_facts(), run_id=run, site="town-hall", tags=["core"], now=T0)
    [asset] = store.list_assets()
    assert asset.id == asset_id
    assert (asset.name, asset.vendor, asset.device_class, asset.os_version) == (
        "core-sw-01",
        "Cisco",
        "switch",
        "15.2(7)E4",
    )
    assert asset.site == "town-hall" and asset.tags == ["core"] and asset.sources == ["snmp"]
    assert asset.evidence["vendor"] == "sysObjectID enterprise 9"
    assert len(store.children(m.Interface, asset_id)) == 2
    assert store.children(m.NeighborRow, asset_id)[0].remote_sys_name == "dist-sw-01"
    [pr] = store.poll_runs()
    assert pr.status == "ok" and pr.values_read == 321 and pr.asset_id == asset_id


def test_same_box_again_is_one_asset_with_history(store) -> None:
    a = store.save_facts(switch_facts(), now=T0)
    upgraded = switch_facts(
        identity=Identity(
            vendor="Cisco",
            device_class="switch",
            model="WS-C2960X-48FPD-L",
            os_name="IOS",
            os_version="15.2(7)E8",
            serial="FOC1234X0AB",
        ),
        address="192.0.2.99",
        sys_name="core-sw-01-renamed",
    )
    b = store.save_facts(upgraded, now=T0 + timedelta(days=30))
    assert a == b, "serial and engine ID identify the same box on a new address and name"
    assert store.count(m.Asset) == 1
    changes = {(h.field_name, h.old, h.new) for h in store.history(a)}
    assert ("os_version", "15.2(7)E4", "15.2(7)E8") in changes
    assert ("sys_name", "core-sw-01", "core-sw-01-renamed") in changes


def test_different_boxes_stay_apart(store) -> None:
    a = store.save_facts(switch_facts(), now=T0)
    other = switch_facts(
        target="snmp://192.0.2.11:161",
        address="192.0.2.11",
        sys_name="core-sw-02",
        engine_id="800000090300112233445566",
        identity=Identity(vendor="Cisco", device_class="switch", serial="FOC9999Z0ZZ"),
        interfaces=(Interface(1, "Gi1/0/1", mac="00:1b:54:bb:00:01", type=6),),
    )
    b = store.save_facts(other, now=T0)
    assert a != b and store.count(m.Asset) == 2


def test_placeholder_serials_do_not_merge_boxes(store) -> None:
    ups1 = Facts(
        target="snmp://192.0.2.20:161",
        protocol="snmp",
        address="192.0.2.20",
        sys_name="ups-a",
        identity=Identity(vendor="APC", device_class="ups", serial="FFFFFFFFFFFF"),
    )
    ups2 = replace(ups1, target="snmp://192.0.2.21:161", address="192.0.2.21", sys_name="ups-b")
    assert store.save_facts(ups1, now=T0) != store.save_facts(ups2, now=T0)


def test_ssh_and_snmp_views_merge_by_mac_and_keep_each_sources_rows(store) -> None:
    snmp = Facts(
        target="snmp://192.0.2.30:161",
        protocol="snmp",
        address="192.0.2.30",
        sys_name="app01",
        identity=Identity(vendor="unknown", device_class="server", os_name="Linux"),
        interfaces=(Interface(2, "eth0", mac="52:54:00:12:34:56", type=6),),
        software=(Software("openssl", "3.0.11"),),
    )
    ssh = Facts(
        target="ssh://192.0.2.30:22",
        protocol="ssh",
        address="192.0.2.30",
        sys_name="app01.council.local",
        chassis_id="52:54:00:12:34:56",
        identity=Identity(
            vendor="QEMU", device_class="server", os_name="Ubuntu", os_version="22.04"
        ),
        listening=(Listening("tcp", "0.0.0.0", 443, "nginx"),),
        connections=(Connection("tcp", "192.0.2.30", 40000, "192.0.2.40", 5432, "java"),),
    )
    a = store.save_facts(snmp, now=T0)
    b = store.save_facts(ssh, now=T0)
    assert a == b
    [asset] = store.list_assets()
    assert asset.sources == ["snmp", "ssh"]
    assert asset.os_name == "Ubuntu", "SSH reads the OS itself and outranks SNMP"
    # A later SNMP poll must not drag the OS name back, nor drop SSH's rows.
    store.save_facts(snmp, now=T0 + timedelta(hours=1))
    [asset] = store.list_assets()
    assert asset.os_name == "Ubuntu"
    assert len(store.children(m.ListeningRow, a)) == 1
    assert len(store.children(m.SoftwareRow, a)) == 1
    store.save_facts(ssh, now=T0 + timedelta(hours=2))
    [conn] = store.children(m.ConnectionRow, a)
    assert conn.count == 2 and conn.first_seen == T0 and conn.last_seen == T0 + timedelta(hours=2)


def test_failed_poll_keeps_everything_stored(store) -> None:
    a = store.save_facts(switch_facts(), now=T0)
    before = (store.count(m.Interface), store.count(m.SoftwareRow), store.count(m.AssetHistory))
    run = store.start_poll("snmp://192.0.2.10:161", "snmp")
    store.fail_poll(run, kind="timeout", error="snmp://192.0.2.10:161: no response within 2s")
    assert (
        store.count(m.Interface),
        store.count(m.SoftwareRow),
        store.count(m.AssetHistory),
    ) == before
    [pr] = store.poll_runs()
    assert pr.status == "failed" and pr.error_kind == "timeout" and "no response" in pr.error
    assert store.list_assets()[0].id == a


def test_unknown_fields_never_erase_known(store) -> None:
    a = store.save_facts(switch_facts(), now=T0)
    blank = switch_facts(identity=Identity(serial="FOC1234X0AB"))
    assert store.save_facts(blank, now=T0 + timedelta(minutes=5)) == a
    [asset] = store.list_assets()
    assert asset.vendor == "Cisco" and asset.device_class == "switch" and asset.os_name == "IOS"


def test_abandoned_polls_are_closed(store) -> None:
    store.start_poll("snmp://192.0.2.50:161", "snmp")
    assert store.close_abandoned_polls() == 1
    assert store.poll_runs()[0].status == "abandoned"


def test_an_agent_closes_only_its_own_abandoned_polls(store) -> None:
    mine = store.start_poll("snmp://192.0.2.51:161", "snmp", agent="host-a")
    old = store.start_poll("snmp://192.0.2.52:161", "snmp")  # from before runs were labelled
    scan = store.start_poll("snmp://192.0.2.53:161", "snmp", agent="scan@host-a")
    other = store.start_poll("snmp://192.0.2.54:161", "snmp", agent="host-b")
    assert store.close_abandoned_polls(agent="host-a") == 1
    assert store.close_abandoned_polls(agent="host-a", unlabelled=True) == 1
    status = {r.id: r.status for r in store.poll_runs()}
    assert status == {mine: "abandoned", old: "abandoned", scan: "running", other: "running"}


def test_huge_strings_are_clipped_not_fatal(store) -> None:
    f = switch_facts(
        sys_name="x" * 5000,
        sys_location="y" * 5000,
        identity=Identity(
            vendor="Cisco", device_class="switch", model="M" * 1000, serial="FOC1234X0AB"
        ),
    )
    a = store.save_facts(f, now=T0)
    [asset] = store.list_assets()
    assert asset.id == a and len(asset.model or "") == 255


def test_retention_prunes_old_history_and_runs_but_keeps_newest(store) -> None:
    old = T0
    a = store.save_facts(switch_facts(), now=old)
    store.save_facts(switch_facts(sys_name="renamed"), now=old + timedelta(days=1))
    for day in (0, 1, 200):
        store.start_poll("snmp://192.0.2.10:161", "snmp", started_at=old + timedelta(days=day))
    store.start_poll("snmp://192.0.2.99:161", "snmp", started_at=old)
    now = old + timedelta(days=400)
    removed = store.prune(history_days=365, poll_run_days=90, now=now)
    assert removed["history"] == 1 and store.history(a) == []
    runs = store.poll_runs()
    assert sorted(r.target for r in runs) == ["snmp://192.0.2.10:161", "snmp://192.0.2.99:161"]
    assert removed["poll_runs"] == 2, "older runs go; the newest of each target stays"


def test_concurrent_saves_of_one_box_make_one_asset(store) -> None:
    """SNMP and SSH of the same box finishing together must not both create it."""
    import threading

    barrier = threading.Barrier(2)
    a = switch_facts(address="192.0.2.10")
    b = switch_facts(target="snmp://192.0.2.110:161", address="192.0.2.110")
    ids: list[int] = []

    def save(f: Facts) -> None:
        barrier.wait()
        ids.append(store.save_facts(f, now=T0))

    threads = [threading.Thread(target=save, args=(f,)) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ids) == 2 and ids[0] == ids[1]
    assert store.count(m.Asset) == 1


def test_ephemeral_client_ports_do_not_grow_connection_rows(store) -> None:
    base = Facts(
        target="ssh://192.0.2.30:22",
        protocol="ssh",
        address="192.0.2.30",
        sys_name="app01",
        listening=(Listening("tcp", "0.0.0.0", 443, "nginx"),),
    )
    for n, port in enumerate((40001, 40002, 40003)):
        f = replace(
            base,
            connections=(
                Connection("tcp", "192.0.2.30", port, "192.0.2.40", 5432, "java"),
                Connection("tcp", "192.0.2.30", 443, "192.0.2.50", 50000 + n, "nginx"),
            ),
        )
        a = store.save_facts(f, now=T0 + timedelta(minutes=n))
    rows = store.children(m.ConnectionRow, a)
    assert len(rows) == 2, "one row per dependency, whatever the client ports"
    client = next(r for r in rows if r.remote_port == 5432)
    server = next(r for r in rows if r.local_port == 443)
    assert client.local_port == 0 and client.count == 3
    assert server.remote_port == 0 and server.count == 3


CHILD_TABLES = (
    m.Interface,
    m.AddressRow,
    m.SoftwareRow,
    m.HardwareRow,
    m.StorageRow,
    m.NeighborRow,
    m.ListeningRow,
)


def _child_rows(store, asset_id: int) -> dict[str, set[tuple[object, ...]]]:
    """Every child row of the asset with its id, by table."""
    out = {}
    for table in CHILD_TABLES:
        out[table.__tablename__] = {
            tuple(sorted(r.model_dump().items())) for r in store.children(table, asset_id)
        }
    return out


def test_a_repoll_of_an_unchanged_box_rewrites_none_of_its_rows(store) -> None:
    facts = switch_facts(listening=(Listening("tcp", "0.0.0.0", 22, "sshd"),))
    asset_id = store.save_facts(facts, now=T0)
    before = _child_rows(store, asset_id)
    assert all(before.values()), before  # something in every table
    store.save_facts(facts, now=T0 + timedelta(minutes=15))
    assert _child_rows(store, asset_id) == before  # same rows, same ids


def test_a_repoll_changes_only_the_rows_that_changed(store) -> None:
    facts = switch_facts(software=(Software("IOS", "15.2(7)E4", kind="os"), Software("a", "1")))
    asset_id = store.save_facts(facts, now=T0)
    old = {(r.name, r.version): r.id for r in store.children(m.SoftwareRow, asset_id)}
    interfaces = {r.id for r in store.children(m.Interface, asset_id)}
    changed = replace(
        facts,
        software=(Software("IOS", "15.2(7)E5", kind="os"), Software("a", "1"), Software("a", "1")),
        interfaces=facts.interfaces[:1],
    )
    store.save_facts(changed, now=T0 + timedelta(minutes=15))
    new = [(r.name, r.version, r.id) for r in store.children(m.SoftwareRow, asset_id)]
    assert sorted((n, v) for n, v, _ in new) == [("IOS", "15.2(7)E5"), ("a", "1"), ("a", "1")]
    kept = [i for n, v, i in new if (n, v) == ("a", "1")]
    assert old[("a", "1")] in kept  # the unchanged row stays; its twin is added
    assert old[("IOS", "15.2(7)E4")] not in {i for _, _, i in new}
    assert {r.id for r in store.children(m.Interface, asset_id)} < interfaces  # one removed
