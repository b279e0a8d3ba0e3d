"""Bulk notifications: batches, the sending cap, claims and the stall sweep, unsubscribe."""

from __future__ import annotations

from backoffice.settings.config import env, fail
from backoffice.settings.mail import EMAIL_TIMEOUT

# Recipients per batch task, and a per-minute cap shared by all workers (0 = no cap) so a
# provider's sending limits are respected.
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=250)
EMAIL_RATE_LIMIT_PER_MINUTE = env.int("EMAIL_RATE_LIMIT_PER_MINUTE", default=0)
if NOTIFICATION_BATCH_SIZE < 1:
    fail("NOTIFICATION_BATCH_SIZE", "must be at least 1")
# A batch holds its rows for this long and renews the hold every third of it while it sends,
# so the lease must outlast one recipient's SMTP exchange (a few EMAIL_TIMEOUTs). A batch
# whose worker died frees its rows when the lease ends; the sweep then re-issues them.
NOTIFICATION_CLAIM_LEASE_SECONDS = env.int("NOTIFICATION_CLAIM_LEASE_SECONDS", default=60)
# A sending notification with open rows and no live lease for this long counts as stalled.
NOTIFICATION_STALL_GRACE_SECONDS = env.int("NOTIFICATION_STALL_GRACE_SECONDS", default=30)
if NOTIFICATION_CLAIM_LEASE_SECONDS < 3 * EMAIL_TIMEOUT + 5:
    fail("NOTIFICATION_CLAIM_LEASE_SECONDS", "must be at least 3 × EMAIL_TIMEOUT + 5 seconds")
if NOTIFICATION_STALL_GRACE_SECONDS < 0:
    fail("NOTIFICATION_STALL_GRACE_SECONDS", "must not be negative")
# Address in the mailto: part of List-Unsubscribe; empty: unsubscribe@<DEFAULT_FROM_EMAIL's domain>.
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="")
# Days an unsubscribe link keeps working after the message was made. US CAN-SPAM requires an
# opt-out to work for at least 30 days after sending, so less is refused.
try:
    UNSUBSCRIBE_LINK_MAX_AGE_DAYS = env.int("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", default=90)
except ValueError:
    UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 0
if UNSUBSCRIBE_LINK_MAX_AGE_DAYS < 30:
    fail("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", "must be a whole number of days, at least 30")
