"""The product-table generator (collectors.snmp.mibgen) on small MIB texts, the shipped tables,
and identification reading them (sysObjectID -> model, with the MIB object in the evidence)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collectors.snmp import mibgen
from collectors.snmp.identify import identify, load_rules
from collectors.snmp.mibgen import MibError, parse_module, readable_model, resolve
from collectors.snmp.values import RawValue, SnmpOid

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "snmp"

SMI = """-- the vendor's root
ACME-SMI DEFINITIONS ::= BEGIN
IMPORTS MODULE-IDENTITY, enterprises FROM SNMPv2-SMI;
acme MODULE-IDENTITY
    LAST-UPDATED "202401010000Z"
    ORGANIZATION "Acme -- not a comment"
    CONTACT-INFO "x"
    DESCRIPTION "The Acme
    root -- still inside the string"
    REVISION "202401010000Z"
    DESCRIPTION "first"
    ::= { enterprises 99999 }
acmeProducts OBJECT IDENTIFIER ::= { acme 1 }
acmeModules OBJECT IDENTIFIER ::= { acme 2 }
END
"""

PRODUCTS = """ACME-PRODUCTS-MIB DEFINITIONS ::= BEGIN
IMPORTS
    MODULE-IDENTITY, OBJECT-IDENTITY FROM SNMPv2-SMI
    acmeProducts, acmeModules FROM ACME-SMI;
acmeProductsMIB MODULE-IDENTITY
    LAST-UPDATED "202405060000Z"
    ORGANIZATION "Acme" CONTACT-INFO "x" DESCRIPTION "products"
    ::= { acmeModules 1 }
FooEntry ::= SEQUENCE { fooThing OBJECT IDENTIFIER, fooOther INTEGER }
acmeSwitches OBJECT IDENTIFIER ::= { acmeProducts 1 }
acmeWSC2960X48FPDL OBJECT IDENTIFIER ::= { acmeSwitches 1 } -- Catalyst WS-C2960X-48FPD-L switch
acmeR100 OBJECT-IDENTITY
    STATUS current
    DESCRIPTION "Sub-tree for R-100 specific objects."
    ::= { acmeProducts 2 }
cat4006 OBJECT IDENTIFIER ::= { acmeProducts 3 } -- Catalyst 4000 with 6 slots (WS-C4006)
acmeOld OBJECT IDENTIFIER ::= { acmeProducts 4 } -- an old box
acmeDeep OBJECT IDENTIFIER ::= { acmeProducts x(5) 7 }
acmeFans OBJECT IDENTIFIER ::= { acmeProducts 100 }
END
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "mibs").mkdir()
    (tmp_path / "mibs" / "ACME-SMI.my").write_text(SMI)
    (tmp_path / "mibs" / "products.txt").write_text(PRODUCTS)
    return tmp_path


def test_parser_reads_assignments_dates_and_descriptions() -> None:
    mod = parse_module(SMI)
    assert mod.name == "ACME-SMI" and mod.last_updated == "202401010000Z"
    assert mod.imports == {"MODULE-IDENTITY": "SNMPv2-SMI", "enterprises": "SNMPv2-SMI"}
    assert mod.assignments["acme"].description == "The Acme root -- still inside the string"
    products = parse_module(PRODUCTS)
    assert "fooThing" not in products.assignments  # inside a SEQUENCE, not an assignment
    assert products.assignments["acmeDeep"].arcs == (5, 7)
    assert products.assignments["acmeWSC2960X48FPDL"].description == (
        "Catalyst WS-C2960X-48FPD-L switch"
    )


def test_names_resolve_through_imports_and_unknown_imports_are_named() -> None:
    modules = {m.name: m for m in (parse_module(SMI), parse_module(PRODUCTS))}
    oids = resolve(modules)
    assert oids[("ACME-PRODUCTS-MIB", "acmeR100")] == (1, 3, 6, 1, 4, 1, 99999, 1, 2)
    del modules["ACME-SMI"]
    with pytest.raises(
        MibError, match=r"cannot resolve acme\w+ \(imported from ACME-SMI: add that MIB"
    ):
        resolve(modules)
    with pytest.raises(MibError, match="DEFINITIONS"):
        parse_module("not a MIB")


@pytest.mark.parametrize(
    ("name", "description", "model"),
    [
        ("ciscoWSC2960X48FPDL", "Catalyst 2960X WS-C2960X-48FPD-L switch", "WS-C2960X-48FPD-L"),
        ("panPA-3220", "Sub-tree for PA-3220 specific objects.", "PA-3220"),
        ("panPanorama", "Sub-tree for Panorama specific objects.", "Panorama"),
        ("catalyst2916mxl", "Catalyst 2916M-XL switch with 16 ports", "Catalyst 2916M-XL"),
        ("cat4006", "Catalyst 4000 with 6 slots (WS-C4006)", "WS-C4006"),
        ("ciscoASR92024SZM", "ASR920 Series - 24GE and 4-10GE", "ASR92024SZM"),
        ("cisco3000", None, "cisco3000"),
        ("acmeOld", "an old box", "acmeOld"),
        # digits alone say less than the name, even when the description spells them
        ("cisco1407", "Cisco 1400 series router, with 1407 chipset", "cisco1407"),
        # a product code leading the name stays: "507-AV" would drop the "CE"
        ("ciscoCE507AV", "Cisco Content Engine Model 507-AV", "CE507AV"),
        # a family word leading the name may go
        ("cat4840gL3", "Catalyst 4840G-L3 (WS-C4840G) Layer 3 Switching", "4840G-L3"),
        ("ciscoRpmXf", "Chassis for RPM-XF router module", "RPM-XF"),
    ],
)
def test_readable_model(name: str, description: str | None, model: str) -> None:
    prefix = {"c": "cisco(?=[A-Z0-9])", "p": "pan(?=[A-Z])", "a": "acme"}[name[0]]
    assert readable_model(name, description, prefix) == model


def test_stem_models_keep_product_names_without_digits() -> None:
    # vendors whose object names are product names (JUNIPER-CHASSIS-DEFINES-MIB jnxProductName)
    prefix = "jnxProductName"
    assert readable_model("jnxProductNameVMX", None, prefix) == "jnxProductNameVMX"
    assert readable_model("jnxProductNameVMX", None, prefix, stem_models=True) == "VMX"
    assert readable_model("jnxProductNameEX4300", None, prefix, stem_models=True) == "EX4300"
    # nothing left of the name but the prefix: the name stays
    assert readable_model("jnxProductName", None, prefix, stem_models=True) == "jnxProductName"
    # a description that spells the product still wins
    assert readable_model("acmeR", "the R-1 box", "acme", stem_models=True) == "R"


SWITCHES = """ACME-SWITCH-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-IDENTITY, enterprises FROM SNMPv2-SMI;
acmeSwitches OBJECT IDENTIFIER ::= { enterprises 99998 }
acmeSwitchJ1234A OBJECT-IDENTITY
    STATUS current
    DESCRIPTION "The authoritative identifier for the J1234A Acme 2000-48G Switch."
    ::= { acmeSwitches 1 }
acmeSwitchModuleJ1235A OBJECT-IDENTITY
    STATUS current
    DESCRIPTION "The authoritative identifier for the J1235A 4-port module."
    ::= { acmeSwitchJ1234A 1 }
acmeSwitchJ1236A OBJECT-IDENTITY
    STATUS current
    DESCRIPTION "The authoritative identifier for the Acme Blade."
    ::= { acmeSwitches 2 }
acm60D OBJECT IDENTIFIER ::= { acmeSwitches 3 }
END
"""


def test_description_model_model_sub_and_excluded_children() -> None:
    modules = {"ACME-SWITCH-MIB": parse_module(SWITCHES)}
    rows = mibgen.product_table(
        modules,
        resolve(modules),
        "ACME-SWITCH-MIB",
        ["acmeSwitches"],
        prefix="acmeSwitch",
        exclude="Module",
        model_sub=[("^acm(?=\\d)", "Acme-")],
        description_model=(r"for the (J\d{4}[A-Z]) Acme (\d{4}\S*) Switch", r"\1 \2"),
    )
    assert [(p.name, p.model) for p in rows] == [
        # its module is excluded: the switch is a product, not a family grouping the module
        ("acmeSwitchJ1234A", "J1234A 2000-48G"),
        # the description does not match: the usual rules decide
        ("acmeSwitchJ1236A", "J1236A"),
        ("acm60D", "Acme-60D"),
    ]
    # without the exclusion the module makes the switch a family, and the module is listed
    rows = mibgen.product_table(
        modules, resolve(modules), "ACME-SWITCH-MIB", ["acmeSwitches"], prefix="acmeSwitch"
    )
    assert [p.name for p in rows] == ["acmeSwitchModuleJ1235A", "acmeSwitchJ1236A", "acm60D"]


NESTED = """ACME-NESTED-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises FROM SNMPv2-SMI;
acmeProducts OBJECT IDENTIFIER ::= { enterprises 99997 }
-- AC-7508 Switch Chassis. 8 Linecard slots.
acmeAC7508 OBJECT IDENTIFIER ::= { acmeProducts 7508 }
-- AC-7508N Switch Chassis, with AC or DC Power Supply
acmeAC7508N OBJECT IDENTIFIER ::= { acmeProducts 7508 1359 }
acmeAC7504 OBJECT IDENTIFIER ::= { acmeProducts 7504 } -- AC-7504 chassis
acmeAC7316 OBJECT IDENTIFIER ::= { acmeProducts 7316 }
-- AC-7010 is described apart from the assignment

acmeAC7010 OBJECT IDENTIFIER ::= { acmeProducts 7010 }
END
"""


def test_a_comment_line_just_above_an_assignment_describes_it() -> None:
    mod = parse_module(NESTED)
    assert mod.assignments["acmeAC7508"].description == (
        "AC-7508 Switch Chassis. 8 Linecard slots."
    )
    # its own trailing comment wins; a comment after the previous assignment is not its own
    assert mod.assignments["acmeAC7504"].description == "AC-7504 chassis"
    assert mod.assignments["acmeAC7316"].description is None
    # a blank line between the comment and the assignment parts them
    assert mod.assignments["acmeAC7010"].description is None


def test_nested_products_keep_the_base_model_registered_above_its_variants() -> None:
    modules = {"ACME-NESTED-MIB": parse_module(NESTED)}
    args = (modules, resolve(modules), "ACME-NESTED-MIB", ["acmeProducts"])
    # by default a node with products beneath it groups them: a family, not a product
    assert "acmeAC7508" not in [p.name for p in mibgen.product_table(*args, prefix="acme")]
    rows = mibgen.product_table(*args, prefix="acme", nested_products=True)
    assert [(p.oid, p.model) for p in rows] == [
        ("1.3.6.1.4.1.99997.7010", "AC7010"),
        ("1.3.6.1.4.1.99997.7316", "AC7316"),
        ("1.3.6.1.4.1.99997.7504", "AC-7504"),
        ("1.3.6.1.4.1.99997.7508", "AC-7508"),
        ("1.3.6.1.4.1.99997.7508.1359", "AC-7508N"),
    ]


LOWER = """ACME-LOWER-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, enterprises FROM SNMPv2-SMI;
acmeProducts OBJECT IDENTIFIER ::= { enterprises 99996 }
acmeRouters OBJECT IDENTIFIER ::= { acmeProducts 1 }
    ar161fgw-l       OBJECT IDENTIFIER ::= { acmeRouters 1 }
\t\tS6730-H28Y4C\t OBJECT IDENTIFIER ::= { acmeRouters 2 }   --S6730-H28Y4C for V2R20C00
    acmeBox-2-sea    OBJECT IDENTIFIER ::= { acmeRouters 3 } -- Real name ACME-2 oversea
    eudemon200e-g8-ac OBJECT IDENTIFIER ::= { acmeRouters 4 }
    AirEngine9700-M1 OBJECT IDENTIFIER ::= { acmeRouters 5 }
acmeRouterOid OBJECT-TYPE
    SYNTAX OBJECT IDENTIFIER
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "an object, not an assignment"
    ::= { acmeProducts 2 }
END
"""


def test_upper_case_names_are_assignments_and_upper_models_capitalise() -> None:
    mod = parse_module(LOWER)
    # vendors register names that start with a capital; SYNTAX OBJECT IDENTIFIER is no name
    assert mod.assignments["S6730-H28Y4C"].arcs == (2,)
    assert mod.assignments["S6730-H28Y4C"].description == "S6730-H28Y4C for V2R20C00"
    assert "SYNTAX" not in mod.assignments and "acmeRouterOid" not in mod.assignments
    modules = {mod.name: mod}
    args = (modules, resolve(modules), "ACME-LOWER-MIB", ["acmeRouters"])
    rows = mibgen.product_table(
        *args,
        description_model=(r"^Real name (\S+)", r"\1"),
        upper_models=r"^(?:[A-Za-z]{1,4}|eudemon)\d",
        model_sub=[("^EUDEMON", "Eudemon")],
    )
    assert [p.model for p in rows] == [
        "AR161FGW-L",
        "S6730-H28Y4C",
        "ACME-2",
        "Eudemon200E-G8-AC",
        # a family word the regex does not find keeps its spelling
        "AirEngine9700-M1",
    ]
    # without upper_models the object names stay as registered
    assert [p.model for p in mibgen.product_table(*args)][:2] == ["ar161fgw-l", "S6730-H28Y4C"]


def test_a_description_model_that_is_not_a_pair_is_refused(folder: Path) -> None:
    spec = folder / "sources.yaml"
    spec.write_text(
        "tables: {acme: {vendor: Acme, module: ACME-PRODUCTS-MIB, roots: [acmeProducts],"
        " description_model: 'x'}}\n"
    )
    assert mibgen.main([str(folder / "mibs"), "--spec", str(spec), "--out", str(folder)]) == 1
    assert not (folder / "acme.yaml").exists()


def test_generator_writes_a_table_naming_its_source(folder: Path) -> None:
    spec = folder / "sources.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "tables": {
                    "acme": {
                        "vendor": "Acme",
                        "module": "ACME-PRODUCTS-MIB",
                        "roots": ["acmeProducts"],
                        "prefix": "acme",
                        "exclude": "Fans$",
                        "repository": "acme/mibs",
                        "path": "ACME-PRODUCTS-MIB.my",
                    }
                }
            }
        )
    )
    assert mibgen.main([str(folder / "mibs"), "--spec", str(spec), "--out", str(folder)]) == 0
    text = (folder / "acme.yaml").read_text()
    assert "ACME-PRODUCTS-MIB (LAST-UPDATED 202405060000Z), acme/mibs ACME-PRODUCTS-MIB.my" in text
    table = yaml.safe_load(text)
    assert table["source"]["module"] == "ACME-PRODUCTS-MIB"
    assert table["products"] == {
        "1.3.6.1.4.1.99999.1.1.1": ["acmeWSC2960X48FPDL", "WS-C2960X-48FPD-L"],
        "1.3.6.1.4.1.99999.1.2": ["acmeR100", "R-100"],
        "1.3.6.1.4.1.99999.1.3": ["cat4006", "WS-C4006"],
        "1.3.6.1.4.1.99999.1.4": ["acmeOld", "acmeOld"],
        "1.3.6.1.4.1.99999.1.5.7": ["acmeDeep", "acmeDeep"],
    }  # acmeSwitches groups products: a family, not a product; acmeFans excluded


def test_generator_regenerates_only_the_tables_asked_for(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = folder / "sources.yaml"
    spec.write_text(
        "tables:\n"
        "  acme: {vendor: Acme, module: ACME-PRODUCTS-MIB, roots: [acmeProducts]}\n"
        "  other: {vendor: Other, module: OTHER-PRODUCTS-MIB, roots: [otherProducts]}\n"
    )
    args = [str(folder / "mibs"), "--spec", str(spec), "--out", str(folder)]
    # every table: the other vendor's MIB is not in the folder, and nothing is written
    assert mibgen.main(args) == 1
    assert "OTHER-PRODUCTS-MIB not in" in capsys.readouterr().err
    assert not (folder / "acme.yaml").exists()
    assert mibgen.main([*args, "--table", "acme"]) == 0
    assert "acme: 6 products" in capsys.readouterr().out
    assert not (folder / "other.yaml").exists()
    assert len(yaml.safe_load((folder / "acme.yaml").read_text())["products"]) == 6
    assert mibgen.main([*args, "--table", "nope"]) == 1
    assert "no table nope" in capsys.readouterr().err


def test_generator_names_a_missing_module(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = folder / "sources.yaml"
    spec.write_text("tables: {x: {vendor: X, module: NOPE-MIB, roots: [a]}}\n")
    assert mibgen.main([str(folder / "mibs"), "--spec", str(spec), "--out", str(folder)]) == 1
    assert "NOPE-MIB not in" in capsys.readouterr().err


def test_shipped_tables_name_their_source_and_load() -> None:
    files = sorted((SHIPPED / "products").glob("*.yaml"))
    tables = [f for f in files if f.name != "sources.yaml"]
    assert tables, "no product tables shipped"
    for path in tables:
        header = path.read_text().split("\n\n", 1)[0]
        assert "Source:" in header and "mibgen" in header, path.name
    rules = load_rules(SHIPPED)
    assert rules.products["1.3.6.1.4.1.25461.2.3.57"].model == "PA-5450"
    assert rules.products["1.3.6.1.4.1.9.1.448"].name == "cat4006"
    # JUNIPER-CHASSIS-DEFINES-MIB jnxProductName: family names, letters-only ones kept
    assert rules.products["1.3.6.1.4.1.2636.1.1.1.2.63"].model == "EX4300"
    assert rules.products["1.3.6.1.4.1.2636.1.1.1.2.108"].model == "VMX"
    # ARUBA-MIB: controllers and access points by object name, placeholders left out
    assert rules.products["1.3.6.1.4.1.14823.1.2.34"].name == "ap105"
    assert "1.3.6.1.4.1.14823.1.1.9999" not in rules.products  # aUndefined
    assert "1.3.6.1.4.1.14823.1.2.71" not in rules.products  # iapvc: any Instant AP
    # FORTINET-FORTIGATE-MIB fgModel: object names, the family prefix spelt as FortiOS does
    assert rules.products["1.3.6.1.4.1.12356.101.1.15000"].model == "FortiGate-1500D"
    assert rules.products["1.3.6.1.4.1.12356.101.1.845"].model == "FortiGate-80F"
    assert rules.products["1.3.6.1.4.1.12356.101.1.445"].model == "FortiWiFi-40F"
    assert rules.products["1.3.6.1.4.1.12356.101.1.648"].name == "fgr60FI"
    assert rules.products["1.3.6.1.4.1.12356.101.1.30"].model == "fgtVM64"
    # HP-ICF-OID hpEtherSwitch: product number and name from the DESCRIPTION; a switch with its
    # modules registered beneath it stays a product, the modules and port types are left out
    assert rules.products["1.3.6.1.4.1.11.2.3.7.11.139"].model == "J9775A 2530-48G"
    assert rules.products["1.3.6.1.4.1.11.2.3.7.11.155"].model == "J9729A 2920-48G-PoE+"
    assert rules.products["1.3.6.1.4.1.11.2.3.7.11.7"].model == "J4110A 8000M"
    assert "1.3.6.1.4.1.11.2.3.7.11.7.1" not in rules.products  # hpSwitchPortModule100TX8
    assert "1.3.6.1.4.1.11.2.3.7.11.99.1" not in rules.products  # hpEtherSwitchPort10T
    assert "1.3.6.1.4.1.11.2.3.7.11.4" not in rules.products  # groups the 208T/224T desktops
    assert rules.products["1.3.6.1.4.1.11.2.3.7.11.4.3"].name == "hpAdvSwitch224T"
    # ARISTA-PRODUCTS-MIB aristaProducts: the product number from the comment above each
    # assignment; variants registered beneath their base model are products too
    assert rules.products["1.3.6.1.4.1.30065.1.3011.7050.1958.64"].model == "DCS-7050TX-64"
    assert rules.products["1.3.6.1.4.1.30065.1.3011.7280.3735.48.2878.6"].model == (
        "DCS-7280SR-48C6"
    )
    assert rules.products["1.3.6.1.4.1.30065.1.3011.7508"].model == "DCS-7508"
    assert rules.products["1.3.6.1.4.1.30065.1.3011.7508.1359"].model == "DCS-7508N"
    assert rules.products["1.3.6.1.4.1.30065.1.2546.720.858.48.2600.6"].model == "CCS-720XP-48Y6"
    assert rules.products["1.3.6.1.4.1.30065.1.2759"].model == "vEOS"
    # FOUNDRY-SN-ROOT-MIB registration: one OID per software image, the model without it
    foundry = "1.3.6.1.4.1.1991.1.3"
    assert rules.products[f"{foundry}.61.2.1.1.1"].model == "ICX7450-48"  # snICX745048Switch
    assert rules.products[f"{foundry}.61.2.1.1.2"].model == "ICX7450-48"  # ...BaseL3Router
    assert rules.products[f"{foundry}.64.1.2.1.2"].model == "ICX7150-24POE"
    assert rules.products[f"{foundry}.56.1.2.1.4"].model == "ICX6610-24HPOE"  # premium image
    assert rules.products[f"{foundry}.68.1.2"].model == "ICX8200-24P"  # P is PoE here
    assert rules.products[f"{foundry}.48.8.1"].model == "ICX7450 stack"
    assert rules.products[f"{foundry}.34.1.2.2.2"].model == "FESX424+1XG-PREM"
    assert f"{foundry}.61.2.1.1" not in rules.products  # snICX745048 groups its images
    # EXTREME-BASE-MIB extremeProduct: the product names the MIB's blocks give, rebuilt from
    # the object names; appliances from their DESCRIPTION; groups left out
    extreme = "1.3.6.1.4.1.1916.2"
    assert rules.products[f"{extreme}.155"].model == "X460-48t"  # summitX460-48t
    assert rules.products[f"{extreme}.349"].model == "5520-24T-EXOS"
    assert rules.products[f"{extreme}.453"].model == "5420M-24W-4YE-SwitchEngine"
    assert rules.products[f"{extreme}.335"].model == "SLX9740-40"  # extremeSLX9740x40
    assert rules.products[f"{extreme}.282"].model == "E1120"  # extremeEMPx35
    assert rules.products[f"{extreme}.131.15"].model == "Summit WM3700"
    assert f"{extreme}.131" not in rules.products  # wirelessProducts groups the WM controllers
    # DELLEMC-OS10-PRODUCTS-MIB and F10-PRODUCTS-MIB: the product number the DESCRIPTION gives
    assert rules.products["1.3.6.1.4.1.674.11000.5000.100.2.1.6"].model == "S4148F-ON"
    assert rules.products["1.3.6.1.4.1.674.11000.5000.100.2.2.1"].model == "MX5108N-ON"
    assert rules.products["1.3.6.1.4.1.6027.1.3.14"].model == "S4810"
    assert rules.products["1.3.6.1.4.1.6027.1.3.4"].model == "S25P-AC"
    assert rules.products["1.3.6.1.4.1.6027.1.3.22"].model == "S4048-ON"
    # HUAWEI-MIB hwProducts: object names in capitals, or the "Real name" a comment gives;
    # names without a digit, hw* nodes and the U2000 placeholders left out
    huawei = "1.3.6.1.4.1.2011.2"
    assert rules.products[f"{huawei}.23.140"].model == "S5700-28C-EI"  # s5700-28C-EI
    assert rules.products[f"{huawei}.23.781"].model == "S6730-H28Y4C"  # an upper-case name
    assert rules.products[f"{huawei}.23.576"].model == "S5720-28P-LI-AC"  # ...-LI-AC-SEA
    assert rules.products[f"{huawei}.239.1"].model == "CE12804"
    assert rules.products[f"{huawei}.224.83"].model == "AR161FGW-L"
    assert rules.products[f"{huawei}.62.30"].model == "NE40E-M2K-B"
    assert rules.products[f"{huawei}.279.1"].model == "S12708"  # s12708lsw
    assert rules.products[f"{huawei}.39.54"].model == "AP4050DN"  # wlanAP4050DN
    assert rules.products[f"{huawei}.321.1.158"].model == "Eudemon200E-G8-AC"
    assert f"{huawei}.23.495" not in rules.products  # s2x00-COMM, reserved for U2000
    assert f"{huawei}.34.1" not in rules.products  # dlswNode
    counts = {
        name: len(yaml.safe_load((SHIPPED / "products" / f"{name}.yaml").read_text())["products"])
        for name in (
            "fortinet",
            "procurve",
            "arista",
            "foundry",
            "extreme",
            "dell_os10",
            "force10",
            "huawei",
        )
    }
    assert counts == {
        "fortinet": 228,
        "procurve": 136,
        "arista": 225,
        "foundry": 664,
        "extreme": 509,
        "dell_os10": 27,
        "force10": 33,
        "huawei": 2791,
    }


def system(descr: str, object_id: str, **more: RawValue) -> dict[str, RawValue]:
    raw: dict[str, RawValue] = {"1.3.6.1.2.1.1.1.0": descr.encode()}
    raw["1.3.6.1.2.1.1.2.0"] = SnmpOid(object_id)
    raw.update(more)
    return raw


def test_model_from_the_product_table_with_its_mib_object_as_evidence() -> None:
    rules = load_rules()
    ident = identify(
        system(
            "Cisco Internetwork Operating System Software IOS (tm) C4000", "1.3.6.1.4.1.9.1.448"
        ),
        rules,
    )
    assert ident.model == "WS-C4006"
    assert ident.evidence["model"] == "cisco-ios: sysObjectID = CISCO-PRODUCTS-MIB::cat4006"


def test_the_chassis_model_wins_over_the_product_table() -> None:
    ent = "1.3.6.1.2.1.47.1.1.1.1"
    chassis: dict[str, RawValue] = {
        f"{ent}.5.1": 3,
        f"{ent}.4.1": 0,
        f"{ent}.13.1": b"WS-C4006-S3",
    }
    ident = identify(
        system(
            "Cisco IOS Software, C4500 Software (cat4500-IPBASEK9-M), Version 12.2(54)SG",
            "1.3.6.1.4.1.9.1.448",
            **chassis,
        ),
        load_rules(),
    )
    assert (ident.model, ident.evidence["model"]) == (
        "WS-C4006-S3",
        "cisco-ios: entPhysicalModelName.1",
    )


def test_junos_model_falls_back_to_the_product_table_after_the_device_own_objects() -> None:
    rules = load_rules()
    bare = identify(system("JUNOS 20.4R3-S1.3 Kernel", "1.3.6.1.4.1.2636.1.1.1.2.63"), rules)
    assert (bare.model, bare.evidence["model"]) == (
        "EX4300",
        "default: sysObjectID = JUNIPER-CHASSIS-DEFINES-MIB::jnxProductNameEX4300",
    )
    own = identify(
        system(
            "JUNOS 20.4R3-S1.3 Kernel",
            "1.3.6.1.4.1.2636.1.1.1.2.63",
            **{"1.3.6.1.4.1.2636.3.1.2.0": b"Juniper EX4300-48T Switch"},
        ),
        rules,
    )
    assert own.model == "EX4300-48T"  # jnxBoxDescr, the device's own word, wins
