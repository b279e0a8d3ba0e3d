"""Who receives bulk mail and how they opt out: a notification's audience, the one rule
that leaves people out (unsubscribed from the topic, or a suppressed address), the rows a
send works through, signed unsubscribe links, per-topic subscriptions and the suppression
list (addresses that unsubscribed or were refused permanently)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
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


@dataclass(frozen=True)
class LeftOut:
    """One reason a recipient must not receive a notification. A recipient matches when its
    user is among `user_ids`, or, with no user (a pasted address) or when the rule is about
    addresses only (`user_ids` None), when its lower-cased address is among `addresses`."""

    kind: str  # "unsubscribed" or "suppressed", as the breakdown counts them
    reason: str  # recorded on the rows it leaves out
    user_ids: QuerySet | None
    addresses: QuerySet  # values("address")

    def condition(self, *, user: str, address: str) -> Q:
        by_address = Q(**{f"{address}__in": self.addresses})
        if self.user_ids is None:
            return by_address
        return Q(**{f"{user}__in": self.user_ids}) | (Q(**{f"{user}__isnull": True})
                                                      & by_address)


def left_out_rules(notification: Notification) -> list[LeftOut]:
    """Who must not receive `notification`, in order of precedence: users who left its topic
    (and pasted addresses of such users), then each kind of suppressed address. The send's
    skip step and the breakdown shown before it both apply exactly these."""
    topic = notification.topic
    label = Topic(topic).label.lower()
    rules = [LeftOut(
        "unsubscribed", f"unsubscribed from {label}",
        Subscription.objects.filter(topic=topic, subscribed=False).values("user_id"),
        users_left_topic(topic).annotate(address=Lower("email")).values("address"))]
    for reason, display in Suppression.Reason.choices:
        rules.append(LeftOut("suppressed", f"suppressed: {display.lower()}", None,
                             Suppression.objects.filter(reason=reason)
                             .values(address=F("email"))))
    return rules


def _addresses_breakdown(notification: Notification) -> dict:
    parsed = parse_addresses(notification.addresses)
    counts = {"unsubscribed": 0, "suppressed": 0}
    remaining = parsed.valid
    for rule in left_out_rules(notification):
        matched = set()
        for chunk in _chunks(remaining):
            matched.update(rule.addresses.filter(address__in=chunk)
                           .values_list("address", flat=True))
        counts[rule.kind] += len(matched)
        remaining = [address for address in remaining if address not in matched]
    return {"recipients": len(remaining), **counts,
            "invalid": len(parsed.invalid), "duplicates": parsed.duplicates}


def _users_breakdown(notification: Notification) -> dict:
    users = audience_users(notification).annotate(address=Lower("email"))
    everyone = users.count()
    distinct = users.values("address").distinct().count()
    counts = {"unsubscribed": 0, "suppressed": 0}
    for rule in left_out_rules(notification):
        condition = rule.condition(user="pk", address="address")
        counts[rule.kind] += users.filter(condition).values("address").distinct().count()
        users = users.exclude(condition)
    return {"recipients": users.values("address").distinct().count(), **counts,
            "invalid": 0, "duplicates": everyone - distinct}


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
    """Waiting rows that must not go out (see `left_out_rules`) become left out, with the
    reason of the first rule they match."""
    rows = OutgoingEmail.objects.filter(notification=notification, status=Status.PENDING)
    for rule in left_out_rules(notification):
        rows.filter(rule.condition(user="user_id", address="to_email")).update(
            status=Status.SKIPPED, last_error=rule.reason)


SALT = "notifications.unsubscribe"


class UnsubscribeSigner(signing.TimestampSigner):
    """Django's TimestampSigner (same tokens, same checks) with its HMAC key derived once
    per signer instead of on every signature: a bulk batch signs one link per recipient."""

    def __init__(self):
        super().__init__(salt=SALT, algorithm="sha256")
        # What django.utils.crypto.salted_hmac derives from the key on each call.
        derived = hashlib.sha256(f"{self.salt}signer{self.key}".encode()).digest()
        self.mac = hmac.new(derived, digestmod=hashlib.sha256)

    def signature(self, value, key=None):
        if key is not None and key != self.key:  # a SECRET_KEY_FALLBACKS entry
            return super().signature(value, key)
        mac = self.mac.copy()
        mac.update(value.encode() if isinstance(value, str) else value)
        return signing.b64_encode(mac.digest()).decode()


# --- Signed links -------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribeTarget:
    email: str
    user_id: int | None
    topic: str


# What a preview shows instead of a token: a link that names nobody and that the page
# refuses as not valid, so a preview never hands out someone's working link.
PREVIEW_TOKEN = "PREVIEW-not-a-working-link"


def unsubscribe_token(*, email: str, user_id: int | None, topic: str) -> str:
    """A signed, login-free token naming the recipient and the topic, with the time it was
    made (it works for UNSUBSCRIBE_LINK_MAX_AGE_DAYS)."""
    return UnsubscribeLinks().token(email=email, user_id=user_id, topic=topic)


def unsubscribe_target(token: str) -> UnsubscribeTarget:
    """The recipient a token names. signing.SignatureExpired when it is older than
    UNSUBSCRIBE_LINK_MAX_AGE_DAYS, signing.BadSignature when it was altered."""
    try:
        data = UnsubscribeSigner().unsign_object(
            token, max_age=timedelta(days=settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS))
    except ValueError as exc:
        # Correctly signed but without a time: it cannot prove its age.
        raise signing.SignatureExpired("unsubscribe token without a time") from exc
    if not isinstance(data, dict) or data.get("t") not in Topic.values:
        raise signing.BadSignature("malformed unsubscribe token")
    user_id = data.get("u")
    return UnsubscribeTarget(email=str(data.get("e", "")), topic=data["t"],
                             user_id=user_id if isinstance(user_id, int) else None)


def unsubscribe_url(token: str) -> str:
    return UnsubscribeLinks().url(token)


class UnsubscribeLinks:
    """Makes tokens and links with the signer, settings and URL prefix looked up once (a
    bulk batch makes one per recipient)."""

    def __init__(self):
        self.signer = UnsubscribeSigner()
        marker = "-"
        self.prefix, _, self.suffix = (
            settings.SITE_URL.rstrip("/")
            + reverse("notifications-unsubscribe", args=[marker])).rpartition(marker)
        address = settings.UNSUBSCRIBE_MAILTO or (
            "unsubscribe@" + parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2])
        self.mailto_prefix = f"mailto:{address}?subject=unsubscribe%20"

    def token(self, *, email: str, user_id: int | None, topic: str) -> str:
        return self.signer.sign_object({"e": email, "u": user_id, "t": topic})

    def url(self, token: str) -> str:
        return f"{self.prefix}{token}{self.suffix}"

    def mailto(self, token: str) -> str:
        return self.mailto_prefix + token  # base64url and ":" need no escaping in a query


# --- Subscriptions ------------------------------------------------------------------------


def preferences_read(*, user) -> dict[str, bool]:
    """Every topic and whether `user` receives it (no row: subscribed)."""
    chosen = dict(Subscription.objects.filter(user=user).values_list("topic", "subscribed"))
    return {topic: chosen.get(topic, True) for topic in Topic.values}


def preferences_update(*, user, preferences: dict) -> dict[str, bool]:
    """Set some topics for `user`; unknown topics or non-boolean values are refused."""
    if not isinstance(preferences, dict):
        raise ValidationError({"preferences": ["Expected an object of topic: true/false."]})
    unknown = sorted(set(preferences) - set(Topic.values))
    wrong = sorted(topic for topic, value in preferences.items() if not isinstance(value, bool))
    if unknown or wrong:
        raise ValidationError({"preferences": [
            f"Unknown topic(s): {', '.join(unknown)}; choose from {', '.join(Topic.values)}."
            if unknown else f"Use true or false for: {', '.join(wrong)}."]})
    with transaction.atomic():
        for topic, subscribed in preferences.items():
            Subscription.objects.update_or_create(user=user, topic=topic,
                                                  defaults={"subscribed": subscribed})
    return preferences_read(user=user)


def unsubscribe(*, target: UnsubscribeTarget) -> None:
    """The one-click unsubscribe: a user leaves the topic; an address without an account
    goes on the suppression list."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=target.user_id).first() \
        if target.user_id is not None else None
    if user is not None:
        preferences_update(user=user, preferences={target.topic: False})
    else:
        suppression_add(email=target.email, reason=Suppression.Reason.UNSUBSCRIBED,
                        detail=f"unsubscribed from {target.topic} through the link")


# --- Suppression --------------------------------------------------------------------------


def suppression_add(*, email: str, reason: str, detail: str = "") -> None:
    """Put an address on the suppression list; an entry already there keeps its reason."""
    email = email.strip().lower()
    if email:
        Suppression.objects.get_or_create(email=email,
                                          defaults={"reason": reason, "detail": detail[:500]})
