"""Helpers for the operations console tests: users with named permissions, polling."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from operations.models import TaskRun
from tests.processes import wait_until

OPERATOR_PERMS = ("view_taskrun", "can_retry_tasks", "can_discard_tasks", "can_purge_queues",
                  "can_pause_queues", "can_revoke_tasks")
ALL_OPS_PERMS = (*OPERATOR_PERMS, "can_terminate_tasks")
TEST_QUEUE = "ops-test"


def staff_user(username: str, codenames=()) -> object:
    """A staff user holding exactly the operations permissions named."""
    user = get_user_model().objects.create_user(username=username, password="pw-12345-xyz",
                                                is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="operations",
                                                        codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


def auditor():
    return staff_user("auditor", ("view_taskrun",))


def operator():
    return staff_user("operator", OPERATOR_PERMS)


def wait_for_state(task_id: str, *states: str, timeout: float = 30) -> TaskRun:
    def current():
        run = TaskRun.objects.filter(task_id=task_id).first()
        return run if run is not None and run.state in states else None

    return wait_until(current, timeout=timeout, what=f"{task_id} in {states}")
