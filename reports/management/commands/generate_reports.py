"""Backfill daily reports (and the weekly analytics of the weeks they touch)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from reports.periods import InvalidPeriod, parse_day, yesterday
from reports.services import reports_backfill


class Command(BaseCommand):
    help = "Generate DailyReport rows for every day from --from to --to (both included)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: --to)")
        parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: yesterday)")

    def handle(self, *args, start=None, end=None, **options):
        try:
            last = parse_day(end, default=yesterday())
            first = parse_day(start, default=last)
            if last < first:
                raise InvalidPeriod(f"--to ({last}) is before --from ({first})")
        except InvalidPeriod as exc:
            raise CommandError(str(exc)) from None
        interactive = self.stdout.isatty() if hasattr(self.stdout, "isatty") else False
        done = reports_backfill(start=first, end=last, generated_by="generate_reports",
                                progress=self._bar if interactive else None)
        if interactive:
            sys.stdout.write("\n")
        for message in done.kept:
            self.stderr.write(self.style.WARNING(message))
        reports = done.reports
        total = sum(report.total_requests for report in reports)
        self.stdout.write(self.style.SUCCESS(
            f"generated {len(reports)} daily report(s) from {first} to {last} "
            f"covering {total} requests"
        ))

    def _bar(self, done, total, day):
        width = 30
        filled = int(width * done / total)
        sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {day}")
        sys.stdout.flush()
