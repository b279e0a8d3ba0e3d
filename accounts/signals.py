"""Signals other apps listen to. Dependencies point to accounts, so accounts only sends.

Both are sent inside the transaction that changed the user; receivers that enqueue work
must do it with `transaction.on_commit`. A receiver may return an object with a boolean
`queued` attribute (None until the commit ran) so the API can tell whether work was queued.
"""

from django.dispatch import Signal

# user=<User>: a user registered through the API.
user_registered = Signal()
# user=<User>: someone asked for a password reset for this active user's address.
password_reset_requested = Signal()
