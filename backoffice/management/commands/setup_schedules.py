"""`manage.py setup_schedules`: create the default periodic tasks that are missing."""

from django.core.management.base import BaseCommand

from backoffice.schedules import schedules_ensure


class Command(BaseCommand):
    help = "Create the default periodic tasks that do not exist yet (never changes existing ones)."

    def handle(self, *args, **options):
        for name, outcome in schedules_ensure().items():
            self.stdout.write(f"{name}: {outcome}")
