"""Writes of the mail catcher: keep a received message, forget the oldest beyond the limit."""

from __future__ import annotations

from email import message_from_bytes, policy

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from devmail.models import CaughtEmail


def caught_email_store(*, mail_from: str, recipients: list[str], data: bytes) -> CaughtEmail:
    """Keep one received message; only the newest MAIL_CATCHER_KEEP are kept."""
    message = message_from_bytes(data, policy=policy.default)
    subject = str(message.get("Subject", "") or "")
    with transaction.atomic():
        caught = CaughtEmail.objects.create(
            received_at=timezone.now(), mail_from=mail_from[:320],
            recipients=[str(address)[:320] for address in recipients][:100],
            subject=" ".join(subject.split())[:500], raw=data)
        keep = CaughtEmail.objects.order_by("-received_at", "-id").values("id")[
            settings.MAIL_CATCHER_KEEP:]
        CaughtEmail.objects.filter(id__in=list(keep.values_list("id", flat=True))).delete()
    return caught
