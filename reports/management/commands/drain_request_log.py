"""Write the queued API request log batches now (what the worker's periodic task does)."""

from django.core.management.base import BaseCommand

from reports.request_queue import api_request_queue_drain, queued_batches


class Command(BaseCommand):
    help = "Write every API request log batch waiting in Redis to the database."

    def handle(self, *args, **options):
        total, left = 0, queued_batches()
        while left:
            total += api_request_queue_drain(max_batches=1000)
            left, before = queued_batches(), left
            if left >= before:  # no progress: another drain holds the lock, or one failed
                break
        self.stdout.write(f"{total} rows written; {left} batches left in the queue")
        if left:  # another drain holds the lock, or a batch could not be written
            raise SystemExit(1)
