"""System checks: BACKUP_MODELS and CLEANUP_TARGETS name models and fields that exist.

Registered in MaintenanceConfig.ready(), so `manage.py check`, `runserver` and `migrate`
stop with a message naming the setting and the bad entry instead of a backup or cleanup
that quietly leaves a table out.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured

TARGET_KEYS = {"model", "date_field", "keep_days", "statuses", "children"}


def _lookup(label) -> tuple[object | None, str | None]:
    """(model, None) for an installed model's label, else (None, what is wrong with it)."""
    if not isinstance(label, str) or label.count(".") != 1:
        return None, f"{label!r} is not a model label like 'app_label.ModelName'"
    try:
        return apps.get_model(label), None
    except LookupError as exc:
        return None, f"{label!r} is not an installed model ({exc})"


def configured_model(setting: str, label: str):
    """The installed model that `label` (an entry of the setting `setting`) names."""
    model, problem = _lookup(label)
    if problem:
        raise ImproperlyConfigured(f"{setting}: {problem}")
    return model


def _error(setting: str, message: str, check_id: str) -> Error:
    return Error(f"{setting}: {message}", hint=f"Correct or remove the entry in {setting}.",
                 id=check_id)


def _field(model, name):
    try:
        return model._meta.get_field(name)
    except (FieldDoesNotExist, TypeError):
        return None


def backup_models_errors() -> list[Error]:
    """Errors for BACKUP_MODELS entries that name no installed model or repeat one."""
    errors, seen = [], set()
    for label in settings.BACKUP_MODELS:
        model, problem = _lookup(label)
        if model is not None and model in seen:
            problem = f"{label!r} is listed twice"
        if problem:
            errors.append(_error("BACKUP_MODELS", problem, "maintenance.E001"))
        seen.add(model)
    return errors


def _retention_problem(target: dict) -> str | None:
    if "keep_days" not in target:
        return "needs 'keep_days'"
    name = target["keep_days"]
    if not isinstance(name, str) or not isinstance(getattr(settings, name, None), int):
        return f"keep_days {name!r} is not the name of an integer setting"
    return None


def _children_problems(model, children) -> list[str]:
    if not isinstance(children, dict):
        return [f"children {children!r} is not a dict of model label to foreign key"]
    problems = []
    for label, foreign_key in children.items():
        child, problem = _lookup(label)
        if problem:
            problems.append(f"child {problem}")
        elif getattr(_field(child, foreign_key), "related_model", None) is not model:
            problems.append(f"{foreign_key!r} is not a foreign key from {child._meta.label} "
                            f"to {model._meta.label}")
    return problems


def _target_problems(target) -> list[str]:
    if not isinstance(target, dict):
        return [f"{target!r} is not a dict"]
    problems = [f"unknown key {key!r}" for key in sorted(set(target) - TARGET_KEYS)]
    problems.append(_retention_problem(target))
    model, problem = _lookup(target.get("model"))
    if problem:
        return [p for p in (*problems, problem) if p]
    if _field(model, target.get("date_field")) is None:
        problems.append(f"date_field {target.get('date_field')!r} is not a field of "
                        f"{model._meta.label}")
    statuses = target.get("statuses")
    if statuses is not None and (not isinstance(statuses, list | tuple)
                                 or not all(isinstance(s, str) for s in statuses)):
        problems.append(f"statuses {statuses!r} is not a list of strings")
    if statuses is not None and _field(model, "status") is None:
        problems.append(f"statuses given but {model._meta.label} has no status field")
    problems.extend(_children_problems(model, target.get("children", {})))
    return [p for p in problems if p]


def cleanup_targets_errors() -> list[Error]:
    """Errors for CLEANUP_TARGETS entries that do not fit the installed models."""
    errors = []
    for index, target in enumerate(settings.CLEANUP_TARGETS):
        for problem in _target_problems(target):
            errors.append(_error("CLEANUP_TARGETS", f"entry {index}: {problem}",
                                 "maintenance.E002"))
    return errors


@register(Tags.models)
def maintenance_configuration_check(app_configs=None, **kwargs) -> list[Error]:
    """BACKUP_MODELS and CLEANUP_TARGETS fit the installed models."""
    return [*backup_models_errors(), *cleanup_targets_errors()]
