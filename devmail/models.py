"""Mail caught by the development mail catcher: what the product would have sent."""

from django.db import models


class CaughtEmail(models.Model):
    """One message as the catcher's SMTP server received it (envelope and raw bytes)."""

    received_at = models.DateTimeField(db_index=True)
    mail_from = models.CharField("from (envelope)", max_length=320, blank=True)
    recipients = models.JSONField("to (envelope)", default=list)
    subject = models.CharField(max_length=500, blank=True)
    raw = models.BinaryField(help_text="the message exactly as received")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "caught email"
        verbose_name_plural = "caught mail"

    def __str__(self):
        return self.subject or "(no subject)"
