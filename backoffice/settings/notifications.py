"""The outgoing-email engine: batches, the sending cap, leases and the sweep, unsubscribe."""

from __future__ import annotations

from backoffice.settings.config import env, fail
from backoffice.settings.mail import EMAIL_TIMEOUT

# Recipients per drain task, and a per-minute cap shared by all workers (0 = no cap) so a
# provider's sending limits are respected.
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=250)
EMAIL_RATE_LIMIT_PER_MINUTE = env.int("EMAIL_RATE_LIMIT_PER_MINUTE", default=0)
if NOTIFICATION_BATCH_SIZE < 1:
    fail("NOTIFICATION_BATCH_SIZE", "must be at least 1")
# Every outgoing email is held under a lease while a worker sends it; the sender renews it
# every third of its length, so it must outlast one SMTP exchange (a few EMAIL_TIMEOUTs).
# When a worker dies, the outgoing-email sweep (every minute) takes its rows back once the
# lease has ended and queues them again: a dead worker's mail goes out within about
# lease + one minute.
EMAIL_LEASE_SECONDS = env.int("EMAIL_LEASE_SECONDS", default=45)
if EMAIL_LEASE_SECONDS < 3 * EMAIL_TIMEOUT + 5:
    fail("EMAIL_LEASE_SECONDS", "must be at least 3 × EMAIL_TIMEOUT + 5 seconds")
# A waiting email whose send task has not run this long after it was queued (the message
# was lost: Redis restarted empty) is queued again by the sweep. A second task for the same
# email is harmless: only one can claim it.
EMAIL_REQUEUE_AFTER_SECONDS = env.int("EMAIL_REQUEUE_AFTER_SECONDS", default=120)
if EMAIL_REQUEUE_AFTER_SECONDS < 1:
    fail("EMAIL_REQUEUE_AFTER_SECONDS", "must be at least 1")
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
