"""`manage.py restore_backup ID|PATH`: verify a backup, then replace the tables with it."""

from django.core.management.base import BaseCommand, CommandError

from maintenance.backups import BackupError
from maintenance.restore import backup_restore, restore_plan


class Command(BaseCommand):
    help = ("Restore a backup by its id or file path. The checksum, signature and schema are "
            "verified first; the load runs in one transaction, so on any error nothing changes.")

    def add_arguments(self, parser):
        parser.add_argument("backup", help="a Backup id, or the path of a .jsonl.gz file")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="do not ask for confirmation")

    def handle(self, *args, backup, interactive, **options):
        try:
            plan = restore_plan(backup)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("This replaces every row of these tables:")
        for row in plan:
            in_backup = "?" if row["backup"] is None else row["backup"]
            self.stdout.write(f"  {row['label']}: {row['current']} now → {in_backup} from backup")
        if interactive and input("Type 'yes' to restore: ").strip() != "yes":
            raise CommandError("restore cancelled; nothing changed")
        try:
            result = backup_restore(backup)
        except BackupError as exc:
            raise CommandError(f"{exc} (nothing changed)") from exc
        total = sum(result["row_counts"].values())
        self.stdout.write(self.style.SUCCESS(f"restored {total} rows from {result['file']}"))
