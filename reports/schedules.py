"""Default periodic tasks of the reports app (created by backoffice.schedules)."""

DEFAULT_SCHEDULES = [
    {"name": "Daily report", "task": "reports.tasks.generate_daily_report",
     "crontab": {"minute": "10", "hour": "0"},
     "description": "Aggregates yesterday's API requests into its DailyReport row."},
    {"name": "Weekly analytics", "task": "reports.tasks.process_api_analytics",
     "crontab": {"minute": "0", "hour": "1", "day_of_week": "1"},
     "description": "Builds last week's WeeklyAnalytics row (Mondays)."},
]
