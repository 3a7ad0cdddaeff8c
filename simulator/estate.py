"""Render the demo estate (``config/demo/estate.yaml``) into snmpsim recordings.

The recordings under ``config/demo/recordings/`` are generated from the estate file and
committed; the same estate always renders byte-identical files. After editing the estate::

    python -m simulator.estate            # rewrite config/demo/recordings/*.snmprec
    python -m simulator.estate --check    # exit 1 if the committed files are stale

Each recording is one device; its file stem is the SNMPv2c community (and SNMPv3 context) that
snmpsim serves it under.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from collectors.datadir import data_path
from simulator import appliances, cisco, esxi, fortigate, hardware, linux, windows, wireless
from simulator.context import Context
from simulator.errors import SimulatorError
from simulator.estate_model import Device, Estate, load_estate_file
from simulator.recording import Recording

Renderer = Callable[[Device, Context], Recording]
RENDERERS: dict[str, Renderer] = {
    "windows": windows.render_windows,
    "linux": linux.render_linux,
    "esxi": esxi.render_esxi,
    "cisco": cisco.render_cisco,
    "aruba-cx": cisco.render_aruba_cx,
    "fortigate": fortigate.render_fortigate,
    "aruba-controller": wireless.render_aruba_controller,
    "apc": appliances.render_apc,
    "eaton": appliances.render_eaton,
    "printer-hp": appliances.render_printer,
    "printer-ricoh": appliances.render_printer,
    "axis": appliances.render_axis,
    "idrac": hardware.render_idrac,
    "ilo": hardware.render_ilo,
    "netapp": hardware.render_netapp,
    "synology": hardware.render_synology,
}
DESCRIBERS: dict[str, Callable[[Device, Context], str]] = {
    "cisco": cisco.describe_cisco,
    "aruba-cx": cisco.describe_aruba_cx,
    "esxi": esxi.describe_esxi,
    "fortigate": fortigate.describe_fortigate,
    "aruba-controller": wireless.describe_aruba,
    "aruba-ap": wireless.describe_aruba,
    "apc": appliances.describe_apc,
    "eaton": appliances.describe_eaton,
    "printer-hp": appliances.describe_printer,
    "printer-ricoh": appliances.describe_printer,
    "axis": appliances.describe_axis,
    "idrac": hardware.describe_idrac,
    "ilo": hardware.describe_ilo,
    "netapp": hardware.describe_netapp,
}


def estate_path() -> Path:
    return data_path("demo", "estate.yaml")


def recordings_dir() -> Path:
    return data_path("demo", "recordings")


def load_estate(path: Path | None = None) -> Estate:
    """Read and check the estate file (default: the shipped ``config/demo/estate.yaml``)."""
    return load_estate_file(path or estate_path())


def describe(dev: Device, ctx: Context) -> str:
    """The sysDescr a device reports, for the LLDP/CDP tables of the switches it is cabled to."""
    describer = DESCRIBERS.get(dev.kind)
    if describer is not None:
        return describer(dev, ctx)
    if dev.record and dev.kind in RENDERERS:
        for line in RENDERERS[dev.kind](dev, ctx).text().splitlines():
            if line.startswith("1.3.6.1.2.1.1.1.0|4|"):
                return line.split("|", 2)[2]
    return dev.model or dev.name


def render_device(dev: Device, ctx: Context) -> str:
    """One device's snmprec text."""
    return RENDERERS[dev.kind](dev, ctx).text()


def render_estate(estate: Estate | None = None, *, salt: str = "") -> dict[str, str]:
    """Community (file stem) -> snmprec text for every recorded device of the estate."""
    estate = estate if estate is not None else load_estate()
    ctx = Context(estate, salt, describe)
    return {dev.name: render_device(dev, ctx) for dev in estate.devices if dev.record}


def write_recordings(directory: Path | None = None, estate: Estate | None = None) -> list[Path]:
    """Write every recording into ``directory`` and remove recordings of devices that left the
    estate. Returns the files written."""
    out = directory or recordings_dir()
    out.mkdir(parents=True, exist_ok=True)
    rendered = render_estate(estate)
    for stale in sorted(out.glob("*.snmprec")):
        if stale.stem not in rendered:
            stale.unlink()
    written = []
    for name, text in sorted(rendered.items()):
        path = out / f"{name}.snmprec"
        path.write_bytes(text.encode("ascii"))
        written.append(path)
    return written


def stale_recordings(directory: Path | None = None, estate: Estate | None = None) -> list[str]:
    """File names under ``directory`` that differ from a fresh render, are missing or extra."""
    where = directory or recordings_dir()
    rendered = render_estate(estate)
    present = {p.stem: p for p in where.glob("*.snmprec")} if where.is_dir() else {}
    problems = [f"{name}.snmprec" for name in sorted(set(present) - set(rendered))]
    for name, text in sorted(rendered.items()):
        path = present.get(name)
        if path is None or path.read_bytes() != text.encode("ascii"):
            problems.append(f"{name}.snmprec")
    return sorted(problems)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.estate",
        description="Render the demo estate into snmpsim recordings.",
    )
    parser.add_argument("--estate", type=Path, help="estate file (default: the shipped one)")
    parser.add_argument("--out", type=Path, help="recordings folder (default: the shipped one)")
    parser.add_argument(
        "--check", action="store_true", help="only check that the recordings match the estate"
    )
    args = parser.parse_args(argv)
    try:
        estate = load_estate(args.estate)
        if args.check:
            stale = stale_recordings(args.out, estate)
            if stale:
                print(
                    f"{len(stale)} recording(s) differ from the estate: {', '.join(stale)}; "
                    "run `python -m simulator.estate` to regenerate them",
                    file=sys.stderr,
                )
                return 1
            print(f"{len(render_estate(estate))} recordings match the estate")
            return 0
        written = write_recordings(args.out, estate)
    except SimulatorError as exc:  # an invalid estate file or data a renderer cannot use
        print(str(exc), file=sys.stderr)
        return 2
    print(f"wrote {len(written)} recordings to {written[0].parent if written else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
