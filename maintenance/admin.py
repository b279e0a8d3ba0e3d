"""django-celery-beat and django-celery-results admins, re-registered on Unfold's styling.

Their own ModelAdmins keep all behaviour (forms, actions, filters); mixing in Unfold's
ModelAdmin and widgets only changes how they look.
"""

from django.contrib import admin
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


@admin.register(TaskResult)
class TaskResultAdmin(results_admin.TaskResultAdmin, ModelAdmin):
    list_filter = (TaskResultKindFilter, *results_admin.TaskResultAdmin.list_filter)
    show_full_result_count = False


@admin.register(GroupResult)
class GroupResultAdmin(results_admin.GroupResultAdmin, ModelAdmin):
    show_full_result_count = False
