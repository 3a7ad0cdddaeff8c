"""``python -m bench [NAME ...] [--quick] [--list]``: run benchmarks, one line each."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import bench


def load_all() -> None:
    for module in pkgutil.iter_modules(bench.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"bench.{module.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    load_all()
    known = bench.registry.names()
    if args.list:
        print("\n".join(known))
        return 0
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for name in args.names or known:
        result = bench.registry.get(name)(args.quick)
        print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
