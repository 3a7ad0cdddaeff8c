"""The rule files: shipped ones load, broken ones are refused with every problem named, and no
input (arbitrary walks, arbitrary sysObjectIDs) makes identification raise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.errors import CollectorError
from collectors.facts import DEVICE_CLASSES, Identity
from collectors.snmp.identify import IdentifyRules, RulesError, identify, load_rules, vendor_oids
from collectors.snmp.values import RawValue, SnmpOid

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "snmp"


@pytest.fixture(scope="module")
def rules() -> IdentifyRules:
    return load_rules()


def test_shipped_rules_load_and_every_file_says_where_its_facts_come_from() -> None:
    rules = load_rules(SHIPPED)
    assert len(rules.profiles) > 50
    assert rules.enterprises[9] == "Cisco"
    for path in [SHIPPED / "enterprises.yaml", *sorted((SHIPPED / "identify").glob("*.yaml"))]:
        header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
        assert "Source" in header, f"{path.name} does not say where its facts come from"


def test_compiled_rules_are_shared_until_a_file_changes(tmp_path: Path) -> None:
    folder = write_rules(tmp_path, "profiles: []\n")
    first = load_rules(folder)
    assert load_rules(folder) is first
    with pytest.raises(TypeError):
        first.enterprises[9] = "Someone else"  # type: ignore[index]
    (folder / "identify" / "10-test.yaml").write_text(
        "profiles:\n  - {id: acme, when: {descr: Acme}, class: router}\n", encoding="utf-8"
    )
    second = load_rules(folder)
    assert second is not first and [p.id for p in second.profiles] == ["acme"]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="does not exist") as err:
        load_rules(tmp_path / "nowhere")
    assert isinstance(err.value, CollectorError) and isinstance(err.value, ValueError)


def write_rules(folder: Path, body: str) -> Path:
    (folder / "identify").mkdir(parents=True)
    shutil.copy(SHIPPED / "enterprises.yaml", folder / "enterprises.yaml")
    (folder / "identify" / "10-test.yaml").write_text(body, encoding="utf-8")
    return folder


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    folder = write_rules(
        tmp_path,
        """
profiles:
  - id: broken
    when: {descr: '(unclosed', colour: red}
    class: toaster
    model:
      - entity: wheel
      - descr: 'x'
        regx: 'typo'
    version:
      - lookup: [no_such_table, '{x}']
        descr: 'v(\\d+)'
  - id: broken
    when: {object_id: 'not.an.oid'}
""",
    )
    with pytest.raises(RulesError) as err:
        load_rules(folder)
    message = str(err.value)
    for expected in (
        "10-test.yaml profiles[0] (broken).when.descr: invalid regular expression",
        "unknown condition key 'colour'",
        "class 'toaster' is not one of",
        "entity field 'wheel' unknown",
        "unknown key(s) ['regx']",
        "expected [table, key template]",
        "'not.an.oid' is not a dotted numeric OID",
        "profile id 'broken' is used more than once",
    ):
        assert expected in message, expected


def test_not_yaml_is_named(tmp_path: Path) -> None:
    folder = write_rules(tmp_path, "profiles: [unclosed\n")
    with pytest.raises(RulesError, match=r"10-test\.yaml: not valid YAML"):
        load_rules(folder)


def test_a_small_rule_set_works_end_to_end(tmp_path: Path) -> None:
    folder = write_rules(
        tmp_path,
        """
profiles:
  - id: acme
    when: {object_id: 1.3.6.1.4.1.99999}
    vendor: Acme
    os: AcmeOS
    class: router
    version:
      - descr: 'AcmeOS (?P<major>\\d+)\\.(?P<minor>\\d+)'
        format: '{major}.{minor:0>2}'
""",
    )
    rules = load_rules(folder)
    raw: dict[str, RawValue] = {
        "1.3.6.1.2.1.1.1.0": b"AcmeOS 4.7 on a box",
        "1.3.6.1.2.1.1.2.0": SnmpOid("1.3.6.1.4.1.99999.1"),
    }
    ident = identify(raw, rules)
    assert (ident.vendor, ident.os_name, ident.os_version, ident.device_class) == (
        "Acme",
        "AcmeOS",
        "4.07",
        "router",
    )


# --- fuzz ---------------------------------------------------------------------------------------

INTERESTING = [
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.7.0",
    "1.0.8802.1.1.2.1.3.6.0",
    "1.3.6.1.2.1.47.1.1.1.1.2.1",
    "1.3.6.1.2.1.47.1.1.1.1.4.1",
    "1.3.6.1.2.1.47.1.1.1.1.5.1",
    "1.3.6.1.2.1.47.1.1.1.1.11.1",
    "1.3.6.1.2.1.47.1.1.1.1.13.1",
    "1.3.6.1.2.1.25.3.2.1.2.1",
    "1.3.6.1.2.1.25.3.2.1.3.1",
    "1.3.6.1.2.1.25.6.3.1.2.1",
    "1.3.6.1.2.1.2.2.1.3.1",
    "1.3.6.1.2.1.2.2.1.6.1",
    "1.3.6.1.2.1.33.1.1.2.0",
    "1.3.6.1.2.1.43.5.1.1.17.1",
    "1.3.6.1.4.1.21317.1.5.1.0",
    "1.3.6.1.4.1.2011.2.235.1.1.11.50.1.4.5.65.66.77.67.33",
]
PREFIXES = [
    "1.3.6.1.4.1.9.1",
    "1.3.6.1.4.1.8072.3.2.10",
    "1.3.6.1.4.1.311.1.1.3.1.2",
    "1.3.6.1.4.1",
]

values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.binary(max_size=64),
    st.text(max_size=64),
    st.builds(SnmpOid, st.sampled_from(PREFIXES)),
    st.builds(
        lambda p, tail: SnmpOid(p + "".join(f".{n}" for n in tail)),
        st.sampled_from(PREFIXES),
        st.lists(st.integers(min_value=0, max_value=99999), max_size=4),
    ),
)
keys = st.one_of(st.sampled_from(INTERESTING), st.text(max_size=30))
descrs = st.sampled_from(
    [
        b"Cisco IOS Software, C2960 Software (C2960-X), Version ",
        b"Hardware: x - Software: Windows Version 6.3 (Build 99",
        b"Linux",
        b"APC Web/SNMP Management Card (PF:v SN: MN:",
        b"; AXIS ;;;",
        b"\x00\xff",
    ]
)


def check(ident: Identity) -> None:
    assert ident.device_class in DEVICE_CLASSES
    assert isinstance(ident.vendor, str) and ident.vendor
    for text in (ident.model, ident.os_name, ident.os_version, ident.serial, ident.firmware):
        assert text is None or (isinstance(text, str) and text == text.strip())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(keys, values, max_size=25))
def test_arbitrary_walks_never_raise(rules: IdentifyRules, raw: dict[str, RawValue]) -> None:
    check(identify(raw, rules))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    object_id=st.sampled_from(PREFIXES),
    tail=st.lists(st.integers(min_value=0, max_value=99999), max_size=6),
    descr=st.one_of(descrs, st.binary(max_size=80)),
    extra=st.dictionaries(st.sampled_from(INTERESTING), values, max_size=10),
)
def test_plausible_devices_never_raise(
    rules: IdentifyRules, object_id: str, tail: list[int], descr: bytes, extra: dict[str, RawValue]
) -> None:
    raw: dict[str, RawValue] = dict(extra)
    raw["1.3.6.1.2.1.1.1.0"] = descr
    raw["1.3.6.1.2.1.1.2.0"] = SnmpOid(object_id + "".join(f".{n}" for n in tail))
    check(identify(raw, rules))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(object_id=st.one_of(st.none(), st.text(max_size=40), st.sampled_from(PREFIXES)))
def test_vendor_oids_never_raise(rules: IdentifyRules, object_id: str | None) -> None:
    found = vendor_oids(rules, object_id)
    assert all(isinstance(o, str) and o[0].isdigit() for o in found)
