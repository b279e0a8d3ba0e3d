"""Data for the maintenance tests: a little of every backed-up table, and a fingerprint."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from maintenance.backups import backup_models
from reports.models import DailyReport, WeeklyAnalytics


def make_data() -> None:
    users = get_user_model()
    editors = Group.objects.create(name="editors")
    editors.permissions.add(*Permission.objects.filter(codename__in=["view_dailyreport",
                                                                     "run_backup"]))
    alice = users.objects.create_user("alice", "alice@example.com", "pw-Alice-123",
                                      first_name="Älice")
    alice.groups.add(editors)
    alice.user_permissions.add(Permission.objects.get(codename="view_weeklyanalytics"))
    users.objects.create_superuser("root", "root@example.com", "pw-Root-123")
    Token.objects.create(user=alice)
    now = timezone.now().replace(microsecond=123456)
    DailyReport.objects.create(
        date=dt.date(2026, 3, 10), total_requests=20, successful_requests=17,
        failed_requests=3, success_rate=85.0, unique_users=2, unique_ips=5,
        avg_response_time=10.5, p95_response_time=19.0, status_codes={"200": 15, "404": 1},
        top_endpoints=[{"route": "/api/public/", "count": 10}], top_users=[],
        generated_at=now, generated_by="test")
    WeeklyAnalytics.objects.create(week_start=dt.date(2026, 3, 9), total_requests=100,
                                   failed_requests=4, change_percent=None,
                                   busiest_hours=[0] * 24, generated_at=now)
    call_command("setup_schedules", verbosity=0)


def fingerprint() -> dict:
    """Every row of every backed-up table, ordered by primary key."""
    result = {}
    for model in backup_models():
        names = [f.attname for f in model._meta.concrete_fields]
        result[model._meta.label_lower] = list(
            model._base_manager.order_by("pk").values_list(*names))
    return result


def wipe_and_change() -> None:
    """Make the database differ from the backup in every way a restore must undo."""
    users = get_user_model()
    users.objects.filter(username="alice").update(first_name="changed")
    users.objects.create_user("mallory", "m@example.com", "pw-Mallory-123")
    DailyReport.objects.all().delete()
    Group.objects.all().delete()


def sign(path):
    """Write `<file>.hmac` with this installation's key, as only its holder could."""
    from maintenance.backup_crypto import file_signature, signature_path

    signature_path(path).write_text(f"{file_signature(path)}  {path.name}\n")


def archive_documents(raw: bytes) -> list:
    """The JSON documents of a decompressed archive, in order; a COPY section (PostgreSQL)
    stands as one ("copy-data", its rows) entry after its header."""
    import io

    import orjson

    stream, documents = io.BytesIO(raw), []
    while line := stream.readline():
        if not line.startswith(b"#"):
            documents.append(orjson.loads(line))
            continue
        rows = 0
        while (size := int(line[1:])) > 0:
            rows += stream.read(size).count(b"\n")
            line = stream.readline()
        documents.append(("copy-data", rows))
    return documents

