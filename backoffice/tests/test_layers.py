"""The import contracts in pyproject.toml hold: dependencies between the apps point one way
(maintenance, then notifications / reports / operations, then accounts, then backoffice's
shared infrastructure), notifications, reports and operations never import each other, and
no app has an import cycle inside it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    # A process of its own: import-linter configures logging, which would disable the
    # loggers of this test process.
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
