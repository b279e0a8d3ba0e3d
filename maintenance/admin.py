"""django-celery-beat and django-celery-results admins, re-registered on Unfold's styling.

Their own ModelAdmins keep all behaviour (forms, actions, filters); mixing in Unfold's
ModelAdmin and widgets only changes how they look.
"""

from django.contrib import admin
from django.utils.html import format_html
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_celery_results import admin as results_admin
from django_celery_results.models import GroupResult, TaskResult
from unfold.admin import ModelAdmin, TabularInline
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from backoffice.readable import readable_field
from backoffice.task_links import task_run_url
from maintenance import admin_backups  # noqa: F401  (Backup, MaintenanceRun, Maintenance page)
from maintenance.admin_schedules import (
    IntervalScheduleForm,
    PeriodicTaskArgumentsFormMixin,
    PeriodicTaskExtrasMixin,
    UserFormMixin,
)
from operations.filters import TaskResultKindFilter

for model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule,
              TaskResult, GroupResult):
    admin.site.unregister(model)


class UnfoldTaskSelectWidget(UnfoldAdminSelectWidget, beat_admin.TaskSelectWidget):
    pass


class PeriodicTaskForm(PeriodicTaskArgumentsFormMixin, beat_admin.PeriodicTaskForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].widget = UnfoldAdminTextInputWidget()
        self.fields["regtask"].widget = UnfoldTaskSelectWidget()


class PeriodicTaskInline(beat_admin.PeriodicTaskInline, TabularInline):
    pass


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(PeriodicTaskExtrasMixin, beat_admin.PeriodicTaskAdmin, ModelAdmin):
    form = PeriodicTaskForm
    actions = ("enable_tasks", "disable_tasks", "toggle_tasks", "run_now")


class ScheduleAdmin(ModelAdmin):
    inlines = [PeriodicTaskInline]


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(UserFormMixin, ScheduleAdmin):
    form = IntervalScheduleForm


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ScheduleAdmin):
    pass


@admin.register(SolarSchedule)
class SolarScheduleAdmin(ScheduleAdmin):
    pass


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ScheduleAdmin):
    pass


# Stored arguments, results and meta, shown pretty-printed in place of the raw text.
READABLE = {"task_args": "Task positional arguments", "task_kwargs": "Task named arguments",
            "result": "Result data", "meta": "Task meta information"}


@admin.register(TaskResult)
class TaskResultAdmin(results_admin.TaskResultAdmin, ModelAdmin):
    """What the result backend stored; each row links to its run, the console's one page of
    that run (queue wait, worker, retries, who started it)."""

    list_display = (*results_admin.TaskResultAdmin.list_display, "run_link")
    list_filter = (TaskResultKindFilter, *results_admin.TaskResultAdmin.list_filter)
    show_full_result_count = False
    fieldsets = [(name, {**options, "fields": tuple(f"{f}_readable" if f in READABLE else f
                                                    for f in options["fields"])
                         + (("run_link",) if index == 0 else ())})
                 for index, (name, options)
                 in enumerate(results_admin.TaskResultAdmin.fieldsets)]
    task_args_readable = readable_field("task_args", READABLE["task_args"])
    task_kwargs_readable = readable_field("task_kwargs", READABLE["task_kwargs"])
    result_readable = readable_field("result", READABLE["result"])
    meta_readable = readable_field("meta", READABLE["meta"])

    @admin.display(description="run")
    def run_link(self, obj):
        if not obj.task_id:  # the add form's empty result
            return "—"
        return format_html('<a class="text-primary-600 underline" data-run-link href="{}">'
                           'Task run</a>', task_run_url(obj.task_id))

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj),
                *(f"{field}_readable" for field in READABLE), "run_link")


@admin.register(GroupResult)
class GroupResultAdmin(results_admin.GroupResultAdmin, ModelAdmin):
    show_full_result_count = False
    fields = ("group_id", "date_created", "date_done", "content_type", "content_encoding",
              "result_readable")
    result_readable = readable_field("result", "Result data")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "result_readable")
