"""BACKUP_MODELS and CLEANUP_TARGETS that do not fit the installed models stop start-up."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from maintenance.backups import backup_models
from maintenance.checks import maintenance_configuration_check
from maintenance.cleanup import logs_cleanup

API_LOG_TARGET = {"model": "reports.ApiRequest", "date_field": "timestamp",
                  "keep_days": "LOG_RETENTION_DAYS"}


def _messages() -> list[str]:
    return [error.msg for error in maintenance_configuration_check()]


def test_the_default_configuration_has_no_errors():
    assert maintenance_configuration_check() == []


def test_an_unknown_backup_model_label_is_an_error_naming_setting_and_label():
    with override_settings(BACKUP_MODELS=[*settings.BACKUP_MODELS, "reports.GoneModel"]):
        errors = maintenance_configuration_check()

    assert [error.id for error in errors] == ["maintenance.E001"]
    assert errors[0].msg.startswith("BACKUP_MODELS: 'reports.GoneModel' is not an installed")


@pytest.mark.parametrize(("label", "problem"), [
    ("reports", "is not a model label"),
    (42, "is not a model label"),
    ("auth.Group", "is listed twice"),
])
def test_malformed_backup_entries_are_errors(label, problem):
    with override_settings(BACKUP_MODELS=[*settings.BACKUP_MODELS, label]):
        messages = _messages()

    assert len(messages) == 1 and problem in messages[0], messages


@pytest.mark.parametrize(("change", "problem"), [
    ({"model": "reports.GoneModel"}, "'reports.GoneModel' is not an installed model"),
    ({"date_field": "no_such_field"}, "date_field 'no_such_field' is not a field of "
                                      "reports.ApiRequest"),
    ({"keep_days": "NO_SUCH_SETTING"}, "keep_days 'NO_SUCH_SETTING' is not the name of an "
                                       "integer setting"),
    ({"keep_seconds": "LOG_RETENTION_DAYS"}, "unknown key 'keep_seconds'"),
    ({"statuses": ["sent"]}, "reports.ApiRequest has no status field"),
    ({"children": {"notifications.OutgoingEmail": "user_id"}},
     "'user_id' is not a foreign key from notifications.OutgoingEmail to reports.ApiRequest"),
    ({"children": {"notifications.Gone": "x_id"}}, "child 'notifications.Gone' is not an "
                                                   "installed model"),
    ({"kept_days": 3}, "unknown key 'kept_days'"),
])
def test_malformed_cleanup_targets_are_errors(change, problem):
    with override_settings(CLEANUP_TARGETS=[*settings.CLEANUP_TARGETS,
                                            {**API_LOG_TARGET, **change}]):
        messages = _messages()

    index = len(settings.CLEANUP_TARGETS)
    assert [m for m in messages if problem in m], messages
    assert all(m.startswith(f"CLEANUP_TARGETS: entry {index}: ") for m in messages), messages


def test_manage_py_check_stops_with_the_message():
    with (override_settings(BACKUP_MODELS=["reports.GoneModel"]),
          pytest.raises(SystemCheckError) as stopped):
        call_command("check")

    assert "maintenance.E001" in str(stopped.value)
    assert "BACKUP_MODELS: 'reports.GoneModel' is not an installed model" in str(stopped.value)


def test_a_backup_refuses_an_unknown_label_instead_of_leaving_the_table_out():
    with (override_settings(BACKUP_MODELS=["auth.Group", "reports.GoneModel"]),
          pytest.raises(ImproperlyConfigured, match="BACKUP_MODELS: 'reports.GoneModel'")):
        backup_models()


@pytest.mark.django_db
def test_a_cleanup_refuses_an_unknown_label_instead_of_skipping_the_table(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.CLEANUP_TARGETS = [{**API_LOG_TARGET, "model": "reports.GoneModel"}]

    with pytest.raises(ImproperlyConfigured, match="CLEANUP_TARGETS: 'reports.GoneModel'"):
        logs_cleanup(days=30)
