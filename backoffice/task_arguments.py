"""What a task accepts when staff give it arguments: a small declaration next to each task.

A task declares its arguments with `@shared_task(..., arguments=SomeArguments)`, where
`SomeArguments` is a `TaskArguments` (a DRF serializer: types and bounds, fields in the
order of the task's parameters). Celery turns the option into a task attribute, so the
admin (periodic task form, "Run now", enabling a schedule) checks the arguments before
anything is saved or sent, and every run checks them again (backoffice.celery.DeclaredTask,
the base of every task), however the message was sent.

Who may run a task from the admin: superusers any registered task; other staff only a
task whose declaration says `operable = True`, and when it names a `permission` (a task
that acts outside the database, or one behind a Maintenance button) only with that
permission too. A task without a declaration is for superusers only, arguments unchecked.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers


class TaskArgumentsError(ValueError):
    """The arguments do not match what the task declares; the message says which."""


MAX_INTEGER = 2**31 - 1  # what every supported database's integer column holds


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON number: "30", 30.0 and true are refused, not coerced;
    bounded (at most MAX_INTEGER unless a smaller `max_value` is given)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string: numbers are refused, not turned into text; at most 1,000 characters
    unless a `max_length` is given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TaskArguments(serializers.Serializer):
    operable = False  # staff other than superusers may schedule and run the task
    permission: str | None = None  # also needed to schedule or run it (app_label.codename)

    @classmethod
    def checked(cls, args=(), kwargs=None) -> dict:
        """The arguments as keyword arguments, or TaskArgumentsError naming what is wrong."""
        if not isinstance(args, list | tuple):
            raise TaskArgumentsError("positional arguments must be a JSON list")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TaskArgumentsError("keyword arguments must be a JSON object")
        names = list(cls().fields)
        given = dict(kwargs or {})
        if len(args) > len(names):
            raise TaskArgumentsError(
                f"takes at most {len(names)} positional argument(s) ({len(args)} given)")
        for name, value in zip(names, args, strict=False):
            if name in given:
                raise TaskArgumentsError(f"{name}: given twice (by position and by name)")
            given[name] = value
        unknown = sorted(set(given) - set(names))
        if unknown:
            accepted = ", ".join(names) or "none"
            raise TaskArgumentsError(
                f"unknown argument(s): {', '.join(unknown)} (accepted: {accepted})")
        serializer = cls(data=given)
        if not serializer.is_valid():
            raise TaskArgumentsError("; ".join(
                f"{name}: {' '.join(str(error) for error in errors)}"
                for name, errors in serializer.errors.items()))
        return given


class NoArguments(TaskArguments):
    """A task that takes no arguments."""


class RetentionDays(TaskArguments):
    """`days` to keep: never fewer than the configured retention (`setting`), so arguments
    can keep more history than the settings but never delete what they promise to keep."""

    setting = ""
    operable = True
    days = StrictIntegerField(required=False, allow_null=True, max_value=36500)

    def validate_days(self, value):
        least = getattr(settings, self.setting)
        if value is not None and value < least:
            raise serializers.ValidationError(
                f"must be at least {least} ({self.setting}); change the setting to keep less")
        return value


def declaration(task) -> type[TaskArguments] | None:
    return getattr(task, "arguments", None)


def may_run(user, declared: type[TaskArguments] | None) -> str | None:
    """Why `user` may not schedule or run a task with this declaration (None: they may)."""
    if user.is_superuser:
        return None
    if declared is None or not declared.operable:
        return "only superusers may schedule or run this task"
    if declared.permission and not user.has_perm(declared.permission):
        return f"this task needs the {declared.permission} permission"
    return None


def task_arguments_check(*, user, task_name: str, args, kwargs) -> None:
    """Raise TaskArgumentsError unless `user` may run `task_name` with these arguments."""
    from celery import current_app

    current_app.loader.import_default_modules()
    task = current_app.tasks.get(task_name)
    if task is None:
        raise TaskArgumentsError(f'task "{task_name}" is not registered')
    declared = declaration(task)
    refused = may_run(user, declared)
    if refused:
        raise TaskArgumentsError(refused)
    if declared is not None:
        declared.checked(args, kwargs)
