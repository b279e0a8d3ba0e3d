"""The import contracts in pyproject.toml hold: dependencies between the apps point one way
(maintenance, then notifications / reports / operations, then accounts, then backoffice's
shared infrastructure), notifications, reports and operations never import each other, and
no app has an import cycle inside it."""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "0 broken" in report
