"""Email records: transactional (account) email and bulk notifications with deliveries.

The row is the truth: it is written in the same transaction as the user change, so an
email is never lost when the broker is down (a sweep enqueues what is pending), and a
re-delivered task never sends twice (the send claims the row first).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from notifications.content import sanitise_html, text_from_html


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending (not queued yet)"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Waiting to retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class TransactionalEmail(models.Model):
    Status = EmailStatus

    class Kind(models.TextChoices):
        WELCOME = "welcome", "Welcome"
        PASSWORD_RESET = "password_reset", "Password reset"
        EMAIL_CHANGE_CONFIRM = "email_change_confirm", "Email change: confirm (new address)"
        EMAIL_CHANGE_NOTICE = "email_change_notice", "Email change: requested (old address)"
        EMAIL_CHANGED = "email_changed", "Email change: done, with undo (old address)"
        REGISTRATION_ATTEMPT = "registration_attempt", "Registration with a taken address"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="transactional_emails",
    )
    to_email = models.EmailField(max_length=254)
    # What the email needs beyond its user, e.g. the other address of an email change.
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_smtp_code = models.PositiveSmallIntegerField("last SMTP code", null=True, blank=True)
    last_error = models.TextField(blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    task_id = models.CharField("task ID", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "transactional email"
        indexes = [models.Index(fields=["status", "updated_at"], name="notif_temail_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=EmailStatus.values),
                name="notif_temail_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="notif_temail_sent_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_email} ({self.status})"


class EmailAttempt(models.Model):
    """One SMTP attempt of a transactional email and what came of it."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        TRANSIENT = "transient", "Transient failure (retried)"
        PERMANENT = "permanent", "Permanent failure"

    email = models.ForeignKey(TransactionalEmail, on_delete=models.CASCADE,
                              related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    smtp_code = models.PositiveSmallIntegerField("SMTP code", null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["email", "number"]
        constraints = [
            models.UniqueConstraint(fields=["email", "number"], name="notif_attempt_unique"),
        ]

    def __str__(self):
        return f"attempt {self.number}: {self.outcome}"


class NotificationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Topic(models.TextChoices):
    """What a bulk message is about; recipients subscribe and unsubscribe per topic."""

    ANNOUNCEMENTS = "announcements", "Announcements"
    NEWSLETTER = "newsletter", "Newsletter"


class Notification(models.Model):
    """A message composed by staff for many recipients; its deliveries are the truth."""

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
    send_id = models.CharField("send ID", max_length=32, blank=True,
                               help_text="the current send (a start or a retry)")
    prepared_at = models.DateTimeField(null=True, blank=True,
                                       help_text="when this send's deliveries were created")
    dispatched_at = models.DateTimeField(null=True, blank=True,
                                         help_text="when batches were last issued")
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


class Delivery(models.Model):
    """One recipient of a notification and what happened to their email."""

    Status = DeliveryStatus

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE,
                                     related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="deliveries",
                             db_constraint=False)
    email = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_smtp_code = models.PositiveSmallIntegerField("last SMTP code", null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    claim = models.CharField(max_length=36, blank=True, help_text="batch run that holds the row")
    lease_until = models.DateTimeField(null=True, blank=True,
                                       help_text="the claim expires then unless renewed")
    worker = models.CharField(max_length=255, blank=True, help_text="worker that last claimed it")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["notification", "id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["notification", "status"], name="notif_delivery_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["notification", "email"],
                                    name="notif_delivery_unique_email"),
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values),
                                   name="notif_delivery_status_valid"),
        ]

    def __str__(self):
        return f"{self.email} ({self.status})"


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
