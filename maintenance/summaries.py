"""A run's result as a few labelled facts for people (the Maintenance page, the run's JSON).

Each known action has its own summary; anything else shows its top-level plain values.
A fact is a dict: `label`, `value` (short, for display) and, where the value was shortened,
`full` (the whole value, for copying).
"""

from __future__ import annotations

from django.apps import apps
from django.template.defaultfilters import filesizeformat
from django.utils.text import capfirst

CHECKSUM_SHOWN = 12


def fact(label: str, value, full: str | None = None) -> dict:
    item = {"label": label, "value": "—" if value in (None, "") else str(value)}
    if full:
        item["full"] = full
    return item


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table_name(label: str) -> str:
    try:
        return capfirst(str(apps.get_model(label)._meta.verbose_name_plural))
    except (LookupError, ValueError):
        return label


def _checksum(value: str) -> dict:
    if not value or len(value) <= CHECKSUM_SHOWN:
        return fact("SHA-256", value)
    return fact("SHA-256", f"{value[:CHECKSUM_SHOWN]}…", full=value)


def _backup(result: dict) -> list[dict]:
    return [fact("Rows", _count(result.get("rows"))),
            fact("Size", filesizeformat(result["size_bytes"])
                 if isinstance(result.get("size_bytes"), int) else None),
            fact("File", result.get("file")),
            _checksum(result.get("sha256") or "")]


def _cleanup(result: dict) -> list[dict]:
    tables = result.get("tables") or {}
    facts = [fact(f"{_table_name(label)} deleted", _count(rows))
             for label, rows in tables.items()]
    facts.append(fact("Total deleted", _count(sum(v for v in tables.values()
                                                if isinstance(v, int)))))
    facts.extend(fact(f"{_table_name(label)} skipped", reason)
                 for label, reason in (result.get("skipped") or {}).items())
    return facts


def _daily_report(result: dict) -> list[dict]:
    return [fact("Day", result.get("date")), fact("Requests", _count(result.get("total_requests"))),
            fact("Failed", _count(result.get("failed_requests"))),
            fact("Success rate", result.get("success_rate"))]


def _weekly_analytics(result: dict) -> list[dict]:
    return [fact("Week of", result.get("week_start")),
            fact("Requests", _count(result.get("total_requests"))),
            fact("Failed", _count(result.get("failed_requests")))]


def _test_email(result: dict) -> list[dict]:
    return [fact("Recipient", result.get("to")), fact("Sent", _count(result.get("sent")))]


def _restore(result: dict) -> list[dict]:
    counts = result.get("row_counts") or {}
    return [fact("Rows restored", _count(sum(counts.values()))),
            fact("Tables", _count(len(counts))), fact("File", result.get("file"))]


def _notification(result: dict) -> list[dict]:
    return [fact("Subject", result.get("subject")), fact("Emails sent", _count(result.get("sent")))]


SUMMARIES = {
    "backup": _backup, "cleanup": _cleanup, "daily_report": _daily_report,
    "weekly_analytics": _weekly_analytics, "test_email": _test_email, "restore": _restore,
    "full_analytics": _notification,
}


def _plain(result: dict) -> list[dict]:
    return [fact(key.replace("_", " ").capitalize(), value) for key, value in result.items()
            if isinstance(value, str | int | float | bool) and key != "status"][:6]


def result_summary(action: str, result) -> list[dict]:
    """The facts worth reading in `result` (what the task of `action` returned)."""
    if result is None:
        return []
    if not isinstance(result, dict):
        text = str(result)
        return [fact("Result", text[:80] + "…" if len(text) > 80 else text,
                     full=text if len(text) > 80 else None)]
    if result.get("status") == "skipped":
        return [fact("Skipped", result.get("reason"))]
    return SUMMARIES.get(action, _plain)(result)


def run_summary(run) -> list[dict]:
    """The facts of a run whose `.outcome` is set (maintenance.selectors.runs_with_outcomes)."""
    if run.outcome.error:
        return [fact("Error", run.outcome.error.strip().splitlines()[-1][:300])]
    return result_summary(run.action, run.outcome.result)
