"""Email the product sends: composed notifications, one outgoing row per message, and what
recipients chose (topics, suppression)."""

import html
import re

import nh3
from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

# Staff-written content made safe: sanitised HTML and a plain-text part derived from it.


def sanitise_html(value: str) -> str:
    """HTML without scripts, event handlers or links other than http(s) and mailto (Ammonia):
    staff-written bodies at save, and each recipient's body once personal fields are in."""
    return nh3.clean(value or "", url_schemes={"http", "https", "mailto"})


BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|blockquote)>|<br\s*/?>", re.I)
TAGS = re.compile(r"<[^>]+>")


def text_from_html(value: str) -> str:
    """A readable plain-text part from (already sanitised) HTML."""
    text = BLOCK_END.sub("\n", value or "")
    text = html.unescape(TAGS.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


class NotificationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Topic(models.TextChoices):
    """What a bulk message is about; recipients subscribe and unsubscribe per topic."""

    ANNOUNCEMENTS = "announcements", "Announcements"
    NEWSLETTER = "newsletter", "Newsletter"


class Notification(models.Model):
    """A message composed by staff for many recipients; its outgoing emails are the truth."""

    Status = NotificationStatus

    class Audience(models.TextChoices):
        ACTIVE_USERS = "active_users", "All active users"
        STAFF = "staff", "Staff"
        GROUPS = "groups", "Members of groups"
        USERS = "users", "Hand-picked users"
        ADDRESSES = "addresses", "Pasted list of addresses"

    subject = models.CharField(max_length=200)
    html_body = models.TextField("HTML body", blank=True,
                                 help_text="Sanitised when saved: no scripts or event handlers.")
    text_body = models.TextField("text body", blank=True,
                                 help_text="Left empty, it is derived from the HTML body.")
    audience = models.CharField(max_length=20, choices=Audience.choices,
                                default=Audience.ACTIVE_USERS)
    topic = models.CharField(max_length=30, choices=Topic.choices, default=Topic.ANNOUNCEMENTS,
                             help_text="Recipients who unsubscribed from it are skipped.")
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="notifications")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                   related_name="picked_notifications")
    addresses = models.TextField(blank=True, help_text="One address per line (or comma-separated).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    schedule = models.ForeignKey("django_celery_beat.PeriodicTask", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="notifications")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    drain_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="when a drain task was last queued for this send")
    note = models.CharField(max_length=255, blank=True, help_text="why it ended this way")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("send_notification", "Can send, schedule, cancel and retry notifications")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=NotificationStatus.values),
                                   name="notif_notification_status_valid"),
        ]

    def __str__(self):
        return self.subject

    def save(self, *args, **kwargs):
        # Sanitised on every save, whoever saves: the admin, a service or a shell.
        self.subject = " ".join(self.subject.split())
        self.html_body = sanitise_html(self.html_body)
        if not self.text_body.strip():
            self.text_body = text_from_html(self.html_body)
        super().save(*args, **kwargs)


class EmailLane(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    BULK = "bulk", "Bulk"

class EmailKind(models.TextChoices):
    WELCOME = "welcome", "Welcome"
    PASSWORD_RESET = "password_reset", "Password reset"
    EMAIL_CHANGE_CONFIRM = "email_change_confirm", "Email change: confirm (new address)"
    EMAIL_CHANGE_NOTICE = "email_change_notice", "Email change: requested (old address)"
    EMAIL_CHANGED = "email_changed", "Email change: done, with undo (old address)"
    REGISTRATION_ATTEMPT = "registration_attempt", "Registration with a taken address"
    ADMIN_NOTICE = "admin_notice", "Notice to staff"
    TEST_COPY = "test_copy", "Test copy of a notification"
    NOTIFICATION = "notification", "Notification"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Waiting to send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Left out"


class OutgoingEmail(models.Model):
    """One email to one recipient, whatever sends it: an account email (welcome, password
    reset, email change), an admin notice, a test copy, or one recipient of a notification.

    The row is the truth. It is written in the transaction of the change that asks for it,
    claimed by one guarded UPDATE that sets a lease, and its outcome is committed after
    each SMTP exchange, so a lost task message or a dead worker never loses it and a
    redelivered task never sends it twice.
    """

    Lane = EmailLane
    Kind = EmailKind
    Status = EmailStatus

    lane = models.CharField(max_length=15, choices=Lane.choices)
    kind = models.CharField(max_length=25, choices=Kind.choices)
    notification = models.ForeignKey(Notification, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="emails")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="outgoing_emails",
                             db_constraint=False)
    to_email = models.CharField("to", max_length=254)
    # What the email needs beyond its user: the other address of an email change, the
    # text of an admin notice, the notification of a test copy.
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="attempts since it was last queued or resent")
    attempt_log = models.JSONField(default=list, blank=True,
                                   help_text="every attempt: when, worker, SMTP reply")
    last_smtp_code = models.PositiveSmallIntegerField("last SMTP code", null=True, blank=True)
    last_error = models.TextField("last reply", blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    claim = models.CharField(max_length=36, blank=True, help_text="the run that holds the row")
    lease_until = models.DateTimeField(null=True, blank=True,
                                       help_text="the claim ends then unless renewed")
    worker = models.CharField(max_length=255, blank=True, help_text="worker that last claimed it")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True,
                                     help_text="when a send task was last queued for it")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outgoing email"
        verbose_name_plural = "outgoing email"
        permissions = [("resend_outgoingemail", "Can resend failed email")]
        indexes = [
            models.Index(fields=["notification", "status"], name="notif_email_notif_status"),
            models.Index(fields=["status", "lane", "next_attempt_at"],
                         name="notif_email_status_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=EmailStatus.values),
                                   name="notif_email_status_valid"),
            models.CheckConstraint(condition=models.Q(lane__in=EmailLane.values),
                                   name="notif_email_lane_valid"),
            models.CheckConstraint(condition=~models.Q(status="sent")
                                   | models.Q(sent_at__isnull=False),
                                   name="notif_email_sent_has_time"),
            # Sending means held: a claim with a lease; nothing else holds a lease.
            models.CheckConstraint(
                condition=(models.Q(status="sending") & models.Q(lease_until__isnull=False)
                           & ~models.Q(claim=""))
                | (~models.Q(status="sending") & models.Q(lease_until__isnull=True)),
                name="notif_email_sending_is_leased"),
            models.CheckConstraint(
                condition=~models.Q(lane="bulk") | models.Q(notification__isnull=False),
                name="notif_email_bulk_has_notification"),
            models.UniqueConstraint(fields=["notification", "to_email"],
                                    condition=models.Q(lane="bulk"),
                                    name="notif_email_one_per_recipient"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_email} ({self.status_label})"

    @property
    def status_label(self) -> str:
        """The status in words; a pending email that failed before is waiting to retry."""
        if self.status == EmailStatus.PENDING and self.attempts:
            return f"Waiting to retry (attempt {self.attempts + 1})"
        return self.get_status_display()


class Subscription(models.Model):
    """A user's choice for one topic. No row means subscribed (the default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="subscriptions")
    topic = models.CharField(max_length=30, choices=Topic.choices)
    subscribed = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "topic"]
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="notif_subscription_unique"),
        ]
        indexes = [models.Index(fields=["topic", "subscribed"], name="notif_subscr_topic_idx")]

    def __str__(self):
        return f"{self.user} {'subscribed to' if self.subscribed else 'unsubscribed from'} " \
               f"{self.topic}"


class Suppression(models.Model):
    """An address bulk mail must not go to: it unsubscribed, or its server refused it
    permanently (5xx). Addresses are stored lower-cased."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Refused permanently (5xx)"
        MANUAL = "manual", "Added by staff"

    email = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.MANUAL)
    detail = models.CharField(max_length=500, blank=True,
                              help_text="the server's reply, or a note")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "suppressed address"
        verbose_name_plural = "suppression list"
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")),
                                   name="notif_suppression_email_lower"),
        ]

    def __str__(self):
        return f"{self.email} ({self.reason})"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)
