"""Every benchmark once with a small N, so none can rot silently (``scripts/test`` runs this).

    python bench/smoke.py [--database-url postgres://...]

The figures are printed, not checked: on a small N and a shared CI machine they mean little.
A benchmark that crashes fails the run. With ``--database-url`` only the benchmarks that take
a database run, on PostgreSQL. Two run at a time (most of their time is starting servers
and migrating a fresh database).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# Each benchmark's small run; a new benchmark must be added here (checked below).
SMALL = {
    "ingest.py": ["-n", "100", "--contacts", "20"],
    "ui.py": ["--stages", "200", "--messages-per-conversation", "2", "-r", "3"],
    "unipile.py": ["-n", "50", "--chats", "2", "--per-chat", "5"],
    "email_sync.py": ["-n", "50"],
    "api_ingest.py": ["-n", "100", "--concurrency", "4", "--contacts", "20"],
    "search.py": ["--messages", "3000", "--conversations", "300", "-r", "3"],
    "fanout.py": ["--members", "20", "-r", "3"],
    "crm.py": [
        *("--contacts", "500", "--leads", "300", "--deals", "200", "--timeline", "120"),
        *("-r", "3"),
    ],
    "whatsapp_webhooks.py": [
        *("-n", "100", "--concurrency", "4", "--contacts", "20"),
        *("--rate", "20", "--seconds", "1"),
    ],
}
TAKES_DATABASE = {"ingest.py", "ui.py", "unipile.py", "email_sync.py", "search.py", "crm.py"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    present = {p.name for p in BENCH.glob("*.py") if not p.name.startswith("_")} - {"smoke.py"}
    if missing := sorted(present - SMALL.keys()):
        print(f"bench/smoke.py has no small run for: {', '.join(missing)}", file=sys.stderr)
        return 1
    commands = {
        name: [sys.executable, str(BENCH / name), *small]
        + (["--database-url", args.database_url] if args.database_url else [])
        for name, small in SMALL.items()
        if not args.database_url or name in TAKES_DATABASE
    }
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: CI has two cores
        done = pool.map(
            lambda command: subprocess.run(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600
            ),
            commands.values(),
        )
        failed = []
        for name, result in zip(commands, done, strict=True):
            print(f"-- bench/{name}\n{result.stdout.rstrip()}", flush=True)
            if result.returncode != 0:
                failed.append(name)
    print(f"-- {len(commands)} benchmarks in {time.monotonic() - started:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
