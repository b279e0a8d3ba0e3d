"""Create realistic demo API traffic and the reports built from it."""

import sys

from django.core.management.base import BaseCommand, CommandError

from reports.demo import demo_traffic_seed
from reports.models import ApiRequest
from reports.periods import yesterday
from reports.services import reports_backfill


class Command(BaseCommand):
    help = ("Create demo ApiRequest rows (tens of days, weekly and daily shape, errors, slow "
            "endpoints) and generate their daily and weekly reports.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--per-day", type=int, default=6000,
                            help="requests on a typical weekday")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the request log already has rows")

    def handle(self, *args, days, per_day, if_empty, **options):
        if days < 1 or per_day < 1:
            raise CommandError("--days and --per-day must be positive")
        if if_empty and ApiRequest.objects.exists():
            self.stdout.write("request log is not empty; no demo data added")
            return
        end = yesterday()
        interactive = hasattr(self.stdout, "isatty") and self.stdout.isatty()

        def progress(done, total, day):
            if interactive:
                sys.stdout.write(f"\rseeding demo traffic {done}/{total} days ({day})")
                sys.stdout.flush()

        created = demo_traffic_seed(days=days, per_day=per_day, end=end, progress=progress)
        if interactive:
            sys.stdout.write("\n")
        first = end.fromordinal(end.toordinal() - days + 1)
        done = reports_backfill(start=first, end=end, generated_by="seed_demo")
        for message in done.kept:
            self.stdout.write(self.style.WARNING(message))
        self.stdout.write(self.style.SUCCESS(
            f"created {created} demo requests over {days} days and {len(done.reports)} daily "
            "reports"))
