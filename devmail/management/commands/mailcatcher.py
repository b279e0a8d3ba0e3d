"""`manage.py mailcatcher`: the development SMTP server that keeps what it receives.

`make run` starts it with everything else when MAIL_CATCHER is on (the development default
when no SMTP server is configured); the admin shows what it caught under *Email → Caught
mail*. It listens on loopback only and refuses to start under production settings.
"""

from __future__ import annotations

import signal
import threading

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from devmail.services import caught_email_store


class CatchingHandler:
    """aiosmtpd handler: each accepted message is stored, then answered 250."""

    async def handle_DATA(self, server, session, envelope):
        await sync_to_async(_store, thread_sensitive=True)(
            envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or
            envelope.content)
        return "250 OK: caught"


def _store(mail_from: str, recipients: list[str], data: bytes) -> None:
    close_old_connections()
    caught_email_store(mail_from=mail_from, recipients=recipients, data=data)


class Command(BaseCommand):
    help = "Run the development mail catcher (an SMTP server that keeps what it receives)."

    def handle(self, *args, **options):
        if not settings.MAIL_CATCHER:
            raise CommandError("the mail catcher is off (MAIL_CATCHER=false, or production "
                               "settings)")
        host, port = settings.MAIL_CATCHER_HOST, settings.MAIL_CATCHER_PORT
        controller = Controller(CatchingHandler(), hostname=host, port=port)
        try:
            controller.start()
        except OSError as exc:
            raise CommandError(f"the mail catcher cannot listen on {host}:{port} ({exc}); "
                               "set MAIL_CATCHER_PORT to a free port") from exc
        self.stdout.write(f"mail catcher listening on {host}:{port}", ending="\n")
        self.stdout.flush()
        stop = threading.Event()
        for name in ("SIGINT", "SIGTERM"):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            controller.stop()
