"""The Operators and Auditors groups exist after migrate with the intended permissions."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import AUDITORS, OPERATORS, roles_sync

pytestmark = pytest.mark.django_db


def perms(name):
    return set(Group.objects.get(name=name).permissions.values_list(
        "content_type__app_label", "codename"))


def test_auditors_can_only_view():
    auditors = perms(AUDITORS)
    assert ("reports", "view_apirequest") in auditors
    assert ("notifications", "view_outgoingemail") in auditors
    assert all(codename.startswith("view_") for _, codename in auditors)
    assert not any(app == "authtoken" for app, _ in auditors)  # tokens are secrets


def test_operators_run_schedules_but_do_not_manage_people():
    operators = perms(OPERATORS)
    assert ("django_celery_beat", "change_periodictask") in operators
    assert ("accounts", "view_user") in operators
    assert ("accounts", "change_user") not in operators
    assert not any(app == "auth" and not code.startswith("view_") for app, code in operators)
    assert not any(code.startswith("delete_") for _, code in operators)


def test_sync_is_idempotent():
    before = {name: perms(name) for name in (OPERATORS, AUDITORS)}
    assert roles_sync() == {OPERATORS: 0, AUDITORS: 0}
    assert Group.objects.filter(name__in=[OPERATORS, AUDITORS]).count() == 2
    assert {name: perms(name) for name in (OPERATORS, AUDITORS)} == before
