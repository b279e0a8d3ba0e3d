"""Recipients' control over bulk mail: signed unsubscribe links, per-topic subscriptions, and
the suppression list (addresses that unsubscribed or were refused permanently)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from notifications.models import Subscription, Suppression, Topic

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
