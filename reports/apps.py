from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    # What the app contributes (see backoffice.app_contributions).
    schedules = (
        {"name": "Daily report", "task": "reports.tasks.generate_daily_report",
         "crontab": {"minute": "10", "hour": "0"},
         "description": "Aggregates yesterday's API requests into its DailyReport row."},
        {"name": "Weekly analytics", "task": "reports.tasks.process_api_analytics",
         "crontab": {"minute": "0", "hour": "1", "day_of_week": "1"},
         "description": "Builds last week's WeeklyAnalytics row (Mondays)."},
    )
    navigation = (
        {"title": _("Reports"), "order": 20, "items": (
            {"title": _("Charts"), "icon": "monitoring",
             "url": "admin:reports_dailyreport_charts", "permission": "reports.view_dailyreport"},
            {"title": _("Daily reports"), "icon": "calendar_today",
             "url": "admin:reports_dailyreport_changelist",
             "permission": "reports.view_dailyreport"},
            {"title": _("Weekly analytics"), "icon": "date_range",
             "url": "admin:reports_weeklyanalytics_changelist",
             "permission": "reports.view_weeklyanalytics"},
            {"title": _("API requests"), "icon": "api",
             "url": "admin:reports_apirequest_changelist", "permission": "reports.view_apirequest"},
        )},
    )
    operator_permissions = (("reports", "regenerate_dailyreport"),)
