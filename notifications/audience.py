"""Who receives a notification: its audience, minus whoever unsubscribed from its topic or
whose address is suppressed. `recipients_write` makes the rows a send works through;
`audience_breakdown` counts the same thing before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.db.models.functions import Lower
from django.utils import timezone

from notifications.models import Notification, OutgoingEmail, Subscription, Suppression, Topic

Audience = Notification.Audience
Status = OutgoingEmail.Status
CREATE_CHUNK = 1000
SEPARATORS = re.compile(r"[\n,;\r\t]+")
MAX_EMAIL_LENGTH = 254


def address_key(address: str) -> str:
    """How bulk mail compares addresses (duplicates, the suppression list): trimmed and
    lower-cased. An account's own address keeps its canonical form
    (accounts.identity.normalize_email); this is only the key bulk mail matches on."""
    return address.strip().lower()


@dataclass
class ParsedAddresses:
    valid: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (as typed, reason)
    duplicates: int = 0


def parse_addresses(text: str) -> ParsedAddresses:
    """Split pasted addresses (lines, commas, semicolons), validate and deduplicate them."""
    parsed, seen = ParsedAddresses(), set()
    for raw in SEPARATORS.split(text or ""):
        candidate = raw.strip().strip("<>").strip()
        if not candidate:
            continue
        address = address_key(candidate)
        if address in seen:
            parsed.duplicates += 1
            continue
        seen.add(address)
        try:
            if len(address) > MAX_EMAIL_LENGTH:
                raise ValidationError("longer than 254 characters")
            validate_email(address)
        except ValidationError as exc:
            reason = exc.messages[0] if exc.messages else "invalid"
            parsed.invalid.append((candidate[:MAX_EMAIL_LENGTH], f"invalid address: {reason}"))
            continue
        parsed.valid.append(address)
    return parsed


def audience_users(notification: Notification):
    """Active users with an address in the notification's audience (a queryset, not a list)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    audience = notification.audience
    if audience == Audience.ACTIVE_USERS:
        return users
    if audience == Audience.STAFF:
        return users.filter(is_staff=True)
    if audience == Audience.GROUPS:
        return users.filter(groups__in=notification.groups.all()).distinct()
    if audience == Audience.USERS:
        return users.filter(pk__in=notification.users.all())
    return users.none()


def audience_recipients(notification: Notification) -> Iterator[tuple[int | None, str, str]]:
    """(user id, address, error) for every recipient; error is set for unusable addresses."""
    if notification.audience == Audience.ADDRESSES:
        parsed = parse_addresses(notification.addresses)
        for address in parsed.valid:
            yield None, address, ""
        for typed, reason in parsed.invalid:
            yield None, typed, reason
        return
    for user_id, address in audience_users(notification).values_list("pk", "email").iterator(
        chunk_size=2000
    ):
        yield user_id, address_key(address), ""


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def users_left_topic(topic: str):
    """Users who unsubscribed from `topic`: a send on it skips them, by user or address."""
    return get_user_model().objects.filter(subscriptions__topic=topic,
                                           subscriptions__subscribed=False)


def _addresses_breakdown(notification: Notification) -> dict:
    parsed = parse_addresses(notification.addresses)
    suppressed = set()
    unsubscribed = set()
    for chunk in _chunks(parsed.valid):
        suppressed.update(Suppression.objects.filter(email__in=chunk)
                          .values_list("email", flat=True))
        left = users_left_topic(notification.topic).annotate(address=Lower("email"))
        unsubscribed.update(left.filter(address__in=chunk).values_list("address", flat=True))
    unsubscribed -= suppressed
    return {"recipients": len(parsed.valid) - len(suppressed) - len(unsubscribed),
            "suppressed": len(suppressed), "unsubscribed": len(unsubscribed),
            "invalid": len(parsed.invalid), "duplicates": parsed.duplicates}


def _users_breakdown(notification: Notification) -> dict:
    users = audience_users(notification).annotate(address=Lower("email"))
    everyone = users.count()
    distinct = users.values("address").distinct().count()
    left = Subscription.objects.filter(topic=notification.topic, subscribed=False)
    unsubscribed = users.filter(pk__in=left.values("user_id")).count()
    suppressed = (users.exclude(pk__in=left.values("user_id"))
                  .filter(address__in=Suppression.objects.values("email"))
                  .values("address").distinct().count())
    recipients = distinct - unsubscribed - suppressed
    return {"recipients": max(recipients, 0), "suppressed": suppressed,
            "unsubscribed": unsubscribed, "invalid": 0, "duplicates": everyone - distinct}


def audience_breakdown(notification: Notification) -> dict:
    """What a send would do now, before anything is sent: how many recipients get it and
    how many are left out (suppressed, unsubscribed from the topic, invalid, duplicates).
    A few COUNT queries, the same rules as the send's own skip step."""
    if notification.audience == Audience.ADDRESSES:
        breakdown = _addresses_breakdown(notification)
    else:
        breakdown = _users_breakdown(notification)
    breakdown["excluded"] = (breakdown["suppressed"] + breakdown["unsubscribed"]
                             + breakdown["invalid"])
    return breakdown


def recipients_write(*, notification: Notification) -> int:
    """One bulk row per recipient of `notification` (duplicates dropped by the unique
    constraint); the ones who must not get it are recorded as left out, with the reason.
    Returns how many rows wait to be sent."""
    if notification.audience == Audience.ADDRESSES:
        _pasted_rows_insert(notification)
    else:
        _user_rows_insert(notification)
    _unwanted_skip(notification)
    return OutgoingEmail.objects.filter(notification=notification,
                                        status=Status.PENDING).count()


def _row(notification, user_id, address, status=Status.PENDING, error="") -> OutgoingEmail:
    return OutgoingEmail(lane=OutgoingEmail.Lane.BULK, kind=OutgoingEmail.Kind.NOTIFICATION,
                         notification=notification, user_id=user_id, to_email=address,
                         status=status, last_error=error)


def _pasted_rows_insert(notification: Notification) -> None:
    chunk = []
    for user_id, address, error in audience_recipients(notification):
        chunk.append(_row(notification, user_id, address,
                          Status.FAILED if error else Status.PENDING, error))
        if len(chunk) >= CREATE_CHUNK:
            OutgoingEmail.objects.bulk_create(chunk, ignore_conflicts=True)
            chunk = []
    OutgoingEmail.objects.bulk_create(chunk, ignore_conflicts=True)


def _user_rows_insert(notification: Notification) -> None:
    """INSERT … SELECT from the users table: no rows through Python, one statement for any
    audience size (the ORM has no INSERT … SELECT; bulk_create would load every user)."""
    users = audience_users(notification).values("pk", "email")
    select_sql, params = users.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ("lane", "kind", "notification_id", "user_id", "to_email", "context", "subject",
               "status", "attempts", "attempt_log", "last_error", "message_id", "claim",
               "worker", "created_at", "updated_at")
    sql = (
        f"INSERT INTO {quote(OutgoingEmail._meta.db_table)} "
        f"({', '.join(map(quote, columns))}) "
        f"SELECT %s, %s, %s, audience.pk, LOWER(audience.email), '{{}}', '', %s, 0, '[]', "
        f"'', '', '', '', %s, %s "
        f"FROM ({select_sql}) AS audience WHERE true "  # WHERE: SQLite's upsert grammar
        f"ON CONFLICT ({quote('notification_id')}, {quote('to_email')}) "
        f"WHERE {quote('lane')} = 'bulk' DO NOTHING"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [OutgoingEmail.Lane.BULK, OutgoingEmail.Kind.NOTIFICATION,
                             notification.pk, Status.PENDING, now, now, *params])


def _unwanted_skip(notification: Notification) -> None:
    """Waiting rows that must not go out become left out, with the reason: the user
    unsubscribed from the topic, or the address is on the suppression list."""
    rows = OutgoingEmail.objects.filter(notification=notification, status=Status.PENDING)
    label = Topic(notification.topic).label.lower()
    left = Subscription.objects.filter(topic=notification.topic, subscribed=False)
    rows.filter(user_id__in=left.values("user_id")).update(
        status=Status.SKIPPED, last_error=f"unsubscribed from {label}")
    for reason, display in Suppression.Reason.choices:
        rows.filter(to_email__in=Suppression.objects.filter(reason=reason).values("email")
                    ).update(status=Status.SKIPPED, last_error=f"suppressed: {display.lower()}")
    # A pasted address that belongs to a user who left the topic counts as theirs.
    addresses = users_left_topic(notification.topic).annotate(address=Lower("email"))
    rows.filter(user_id__isnull=True, to_email__in=addresses.values("address")).update(
        status=Status.SKIPPED, last_error=f"unsubscribed from {label}")
