"""Run benchmarks: `python -m bench` (list), `python -m bench NAME [--size N]`, `--all`."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))


def available() -> dict[str, str]:
    """Benchmark names mapped to the first line of their docstring."""
    found = {}
    for module in pkgutil.iter_modules([str(BENCH_DIR)]):
        if module.name.startswith("_"):
            continue
        imported = importlib.import_module(f"bench.{module.name}")
        if not callable(getattr(imported, "run", None)):
            continue  # a helper module, not a benchmark
        doc = (imported.__doc__ or "").strip()
        found[module.name] = doc.splitlines()[0] if doc else ""
    return found


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.bench")
    import django
    from django.core.management import call_command

    django.setup()
    refuse_unless_bench_database()
    call_command("migrate", verbosity=0, interactive=False)


def refuse_unless_bench_database() -> None:
    """Benchmarks fill and empty tables: only on a database whose name says it is for them."""
    from django.db import connection

    name = Path(str(connection.settings_dict["NAME"])).name
    if "bench" not in name.lower():
        sys.exit(f"bench: refusing to run on database {name!r}: its name must contain "
                 "'bench' (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench)")


def run_one(name: str, size: int | None) -> dict:
    module = importlib.import_module(f"bench.{name}")
    print(f"== bench {name}" + (f" (size {size})" if size else ""), flush=True)
    result = module.run(size)
    print(json.dumps(result), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", nargs="?", help="benchmark to run; omit to list them")
    parser.add_argument("--size", type=int, default=None, help="scale the work down")
    parser.add_argument("--all", action="store_true", help="run every benchmark")
    args = parser.parse_args(argv)
    setup_django()
    names = available()
    if args.all:
        for name in names:
            run_one(name, args.size)
        return 0
    if not args.name:
        for name, summary in names.items():
            print(f"{name:20} {summary}")
        return 0
    if args.name not in names:
        parser.error(f"unknown benchmark {args.name!r}; choose from {', '.join(names)}")
    run_one(args.name, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
