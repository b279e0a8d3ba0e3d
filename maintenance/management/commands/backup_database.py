"""`manage.py backup_database`: write a backup now, in this process (no worker needed)."""

from django.core.management.base import BaseCommand, CommandError

from backoffice.locks import JobLocked
from maintenance.services import backup_create


class Command(BaseCommand):
    help = "Write a verified backup to BACKUP_DIR now."

    def add_arguments(self, parser):
        parser.add_argument("--include-api-log", action="store_true", default=None,
                            help="also back up the API request log (default: the setting)")

    def handle(self, *args, include_api_log, **options):
        try:
            backup = backup_create(triggered_by="command", include_api_log=include_api_log)
        except JobLocked as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"backup {backup.pk}: {backup.file_name} ({backup.size_bytes} bytes, "
            f"{backup.total_rows} rows, sha256 {backup.sha256})"))
