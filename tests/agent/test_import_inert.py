"""An imported file's text is stored inert, whichever way the import knows it.

A CSV file read whole without a control character is stored as read (making it inert again
would change nothing); any control character in it, a JSON escape that spells one, or one in
the file's name sends every asset through the full clean-up. Either way no stored text holds
a control character."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.inventory.estate_import import import_file
from agent.store import Store
from agent.store.inert import has_control

HEADER = "Server name,IP addresses,OS name,OS version,Application,Tags,Site\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    try:
        yield st
    finally:
        st.close()


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _stored_text(store: Store) -> list[str]:
    """Every string stored on the assets, the JSON columns' decoded (JSON text escapes control
    characters, which would hide them)."""
    assets = store.read_assets(
        ["name", "os_name", "os_version", "site", "tags", "planning", "exposures"]
    )
    return [s for asset in assets for s in _strings(list(asset.values()))]


def test_a_clean_csv_is_stored_as_read(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(HEADER + "web01,10.0.0.1,Ubuntu,22.04,shop,pci,hq\r\n", encoding="utf-8")
    report = import_file(store, path)
    assert report.assets == 1
    assert store.rows("SELECT name, os_name, os_version FROM cw_asset") == [
        ("web01", "Ubuntu", "22.04")
    ]


@pytest.mark.parametrize(
    "row",
    [
        "web\x1b[31m01,10.0.0.1,Ubu\x07ntu,22.04,shop,pci,h\x1bq\n",
        'web01,10.0.0.1,"Ubuntu\x9b2J",22.04,shop,"p\x00ci",hq\n',
    ],
    ids=["escape-and-bell", "c1-and-nul"],
)
def test_control_characters_in_a_csv_are_dropped(store: Store, tmp_path: Path, row: str) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(HEADER + "db01,10.0.0.2,Debian,12,shop,,\n" + row, encoding="utf-8")
    import_file(store, path)
    text = _stored_text(store)
    assert any("Ubuntu" in t for t in text), text
    assert not [t for t in text if has_control(t)], text


def test_a_control_character_far_into_a_csv_is_dropped(store: Store, tmp_path: Path) -> None:
    """The file is read and scanned a block of lines at a time: a control character in a
    late block still sends every asset through the clean-up."""
    path = tmp_path / "assets.csv"
    clean = "".join(f"db{i:05d},10.{i // 250}.{i % 250}.1,Debian,12,shop,,\n" for i in range(5000))
    assert len(clean) > 2 * 65536
    path.write_text(HEADER + clean + "web\x1b[31m01,10.0.0.1,Ubuntu,22.04,shop,,\n", "utf-8")
    report = import_file(store, path)
    assert report.assets == 5001
    text = _stored_text(store)
    assert "web[31m01" in text
    assert not [t for t in text if has_control(t)]


def test_json_escapes_spelling_control_characters_are_dropped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.json"
    doc = {"assets": [{"name": "web01", "os_name": "Ubu\u001b[2Jntu", "tags": ["p\u0007ci"]}]}
    path.write_text(json.dumps(doc), encoding="utf-8")  # escapes only: the file text is clean
    assert not has_control(path.read_text(encoding="utf-8"))
    import_file(store, path)
    text = _stored_text(store)
    assert any("Ubu[2Jntu" in t for t in text), text
    assert not [t for t in text if has_control(t)], text


def test_a_control_character_in_the_file_name_is_dropped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets\x1b[31m.csv"
    path.write_text("Server name,IP addresses,Exposures\nweb01,10.0.0.1,telnet\n", encoding="utf-8")
    import_file(store, path, "csv")
    text = _stored_text(store)
    assert "from assets[31m.csv" in text, text  # named as the file, inert
    assert not [t for t in text if has_control(t)], text
