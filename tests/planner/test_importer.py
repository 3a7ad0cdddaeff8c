"""The import format: Azure-Migrate-style CSV and JSON, with errors naming row and column."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest

from planner import ImportFormatError, parse_import, parse_import_stream

SERVERS_CSV = """\ufeffServer name,IP addresses,Cores,Memory (In MB),OS name,OS version,\
OS architecture,Disk 1 size (In GB),Disk 2 size (In GB),CPU utilization percentage,\
Memory utilization percentage,Application,Environment,Number of disks,Boot type
rb-app01,10.1.2.3;10.1.9.3,8,16384,Windows,Server 2012 R2,x64,120,380,35,60,Revenues,\
Production,2,BIOS
pl-db01,10.1.2.4,4,8192,Red Hat Enterprise Linux,7.9,x64,300,,20,70,Planning,UAT,1,UEFI
"""
DEPS_CSV = """Time slot,Source server name,Source IP,Source application,Source process,\
Destination server name,Destination IP,Destination application,Destination process,Destination port
2026-08-01 00:00,rb-app01,10.1.2.3,rb,w3wp.exe,sql01,10.1.2.9,SQL,sqlservr.exe,1433
2026-08-01 01:00,rb-app01,10.1.2.3,rb,w3wp.exe,sql01,10.1.2.9,SQL,sqlservr.exe,1433
2026-08-01 01:00,,10.1.2.7,,,sql01,10.1.2.9,SQL,sqlservr.exe,1433
"""


def test_azure_migrate_style_server_csv() -> None:
    assets, deps = parse_import(SERVERS_CSV, "csv")
    assert deps == ()
    rb, pl = assets
    assert (rb.id, rb.name, rb.addresses) == ("rb-app01", "rb-app01", ("10.1.2.3", "10.1.9.3"))
    assert rb.cpu_count == 8 and rb.memory_bytes == 16 * 2**30
    assert rb.disk_bytes == 500 * 10**9, "disk columns are summed"
    assert (rb.os_name, rb.os_version, rb.architecture) == ("Windows", "Server 2012 R2", "x64")
    assert (rb.cpu_util_pct, rb.memory_util_pct) == (35.0, 60.0)
    assert (rb.environment, pl.environment) == ("prod", "test"), "Production, UAT"
    assert rb.application == "Revenues" and rb.device_class == "server"


def test_dependency_csv_aggregates_time_slots() -> None:
    assets, deps = parse_import(DEPS_CSV, "csv")
    assert assets == ()
    first, second = deps
    assert (first.src, first.dst, first.port, first.count) == ("rb-app01", "sql01", 1433, 2)
    assert first.process == "w3wp.exe"
    assert (second.src, second.dst) == ("10.1.2.7", "sql01"), "the IP stands in for a name"


def test_json_with_structured_lists_and_ip_resolution() -> None:
    text = json.dumps(
        {
            "assets": [
                {
                    "id": "a",
                    "name": "app",
                    "addresses": ["10.0.0.1"],
                    "software": [
                        {"name": "Microsoft SQL Server 2014", "version": "12.0.6024.0"},
                        ["tomcat9", "9.0.31"],
                        "php7.4=7.4.3",
                    ],
                    "listening": [443, {"port": 53, "proto": "udp"}],
                    "exposures": [{"kind": "telnet", "detail": "23"}, "smbv1"],
                    "manufactured": "2015-03-01",
                    "virtual": "no",
                    "tags": "refactor;gdpr",
                },
                {"id": "b", "device_class": "Firewall", "criticality": "High"},
            ],
            "dependencies": [{"source_ip": "10.0.0.1", "dst": "b", "port": "443", "kind": "hard"}],
        }
    )
    (a, b), (dep,) = parse_import(text, "json")
    assert a.software == (
        ("Microsoft SQL Server 2014", "12.0.6024.0"),
        ("tomcat9", "9.0.31"),
        ("php7.4", "7.4.3"),
    )
    assert [(x.port, x.proto) for x in a.listening] == [(443, "tcp"), (53, "udp")]
    assert [(e.kind, e.detail) for e in a.exposures] == [("telnet", "23"), ("smbv1", None)]
    assert a.manufactured == date(2015, 3, 1) and a.virtual is False
    assert a.tags == ("refactor", "gdpr")
    assert (b.device_class, b.criticality) == ("firewall", "high")
    assert (dep.src, dep.dst, dep.port, dep.kind) == ("a", "b", 443, "hard")


@pytest.mark.parametrize(
    ("text", "fmt", "row", "column", "message"),
    [
        ("Server name,Cores\nx,eight\n", "csv", 2, "Cores", "'eight' is not a whole number"),
        ("Server name,Environment\nx,lab\n", "csv", 2, "Environment", "'lab' is not one of"),
        ("name,ports\nx,tcp/99999\n", "csv", 2, "ports", "is not a port like 443"),
        ("name,exposures\nx,ftp\n", "csv", 2, "exposures", "exposure kind 'ftp' is not one of"),
        ("name,first seen\nx,yesterday\n", "csv", 2, "first seen", "not a date like"),
        ("name\nx\nx\n", "csv", 3, "name", "asset 'x' already given on row 2"),
        ("source,destination,port\na,,80\n", "csv", 2, "destination", "needs a destination"),
        # dependencies convert each distinct text once; a failure is never kept as a value
        ("source,destination,port\na,b,80\nc,d,http\n", "csv", 3, "port", "'http' is not a"),
        ("source,destination,port\na,b,70000\n", "csv", 2, "port", "70000 is not a port"),
        ("src,dst,connections\na,b,3\na,c,many\n", "csv", 3, "connections", "'many' is not"),
        ("src,dst,first seen\na,b,2026-01-01\na,c,soon\n", "csv", 3, "first seen", "a date"),
        ("src,dst,kind\na,b,Hard\nc,d,hard\ne,f,maybe\n", "csv", 4, "kind", "'maybe' is not"),
        ('{"dependencies": [{"src": "a", "dst": "b", "port": "x"}]}', "json", 1, "port", "'x'"),
        ('{"assets": [{"id": "a", "virtual": "maybe"}]}', "json", 1, "virtual", "yes/no"),
    ],
)
def test_errors_name_row_and_column(
    text: str, fmt: str, row: int, column: str, message: str
) -> None:
    with pytest.raises(ImportFormatError) as err:
        parse_import(text, fmt)
    assert (err.value.row, err.value.column) == (row, column)
    assert message in str(err.value) and f"row {row}" in str(err.value)


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("", "csv", "the CSV file is empty"),
        ("colour,size\nred,1\n", "csv", "names neither assets"),
        ("{", "json", "not valid JSON"),
        ("[]", "json", '"assets" and/or "dependencies"'),
        ('{"assets": {}}', "json", '"assets" must be a list'),
        ("x", "xml", "unknown import format 'xml'"),
    ],
)
def test_whole_file_errors(text: str, fmt: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_import(text, fmt)


class _Pieces(io.StringIO):
    """A text file that hands out at most ``size`` characters per read (chunk boundaries
    fall everywhere: inside strings, numbers, literals and between tokens)."""

    def __init__(self, text: str, size: int) -> None:
        super().__init__(text)
        self.size = size

    def read(self, size: int | None = -1, /) -> str:
        return super().read(self.size if size is None or size < 0 else min(size, self.size))


ESTATE_JSON = json.dumps(
    {
        "note": {"ignored": [1, 2.5e3, True, None]},
        "assets": [
            {"id": f"a{i}", "addresses": [f"10.0.0.{i}"], "cores": 12345 + i, "virtual": False}
            for i in range(40)
        ],
        "dependencies": [
            {"source_ip": f"10.0.0.{i}", "dst": f"a{(i + 1) % 40}", "port": 443, "count": 7}
            for i in range(40)
        ]
        * 2,
    },
    indent=1,
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 20])
def test_streamed_json_is_read_as_the_whole_text(size: int) -> None:
    whole = parse_import(ESTATE_JSON, "json")
    assert len(whole[0]) == 40 and whole[1][0].count == 14, "rows of one link add up"
    assert parse_import_stream(_Pieces(ESTATE_JSON, size), "json") == whole


def test_dependencies_before_assets_still_resolve_addresses() -> None:
    data = json.loads(ESTATE_JSON)
    flipped = json.dumps({"dependencies": data["dependencies"], "assets": data["assets"]})
    assert parse_import_stream(_Pieces(flipped, 5), "json") == parse_import(ESTATE_JSON, "json")


@pytest.mark.parametrize(
    "broken",
    [
        ESTATE_JSON[:-40],  # cut short
        ESTATE_JSON.replace('"cores": 12360', '"cores": 12360,', 1),  # trailing comma
        ESTATE_JSON.replace('"port": 443', '"port" 443', 1),
        ESTATE_JSON + "\n{}",
        ESTATE_JSON.replace("false", "flase", 1),
    ],
)
def test_broken_json_names_the_line_and_column_json_would(broken: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(broken)
    with pytest.raises(ImportFormatError) as err:
        parse_import_stream(_Pieces(broken, 50), "json")
    where = f"line {expected.value.lineno} column {expected.value.colno}"
    assert "not valid JSON" in str(err.value) and where in str(err.value), str(err.value)


def test_progress_is_told_as_rows_are_read() -> None:
    rows = "name\n" + "".join(f"s{i}\n" for i in range(120_000))
    told: list[int] = []
    assets, _ = parse_import_stream(io.StringIO(rows), "csv", told.append)
    assert len(assets) == 120_000 and told == [50_000, 100_000]
