"""Signals other apps listen to. Dependencies point to accounts, so accounts only sends.

Each is sent inside the transaction that changed the user; receivers that enqueue work
must do it with `transaction.on_commit`. A receiver may return an object with a boolean
`queued` attribute (None until the commit ran) so the API can tell whether work was queued.
"""

from django.dispatch import Signal

# user=<User>: a user registered through the API.
user_registered = Signal()
# user=<User>: someone asked for a password reset for this active user's address.
password_reset_requested = Signal()
# user=<User>, new_email=<str>: the user asked to change their address to new_email; the
# user still has the old one. Receivers send the confirmation link to new_email and a
# notice to the old address.
email_change_requested = Signal()
# user=<User>, old_email=<str>: the user's address changed from old_email; receivers tell
# old_email, with the undo link.
email_changed = Signal()
# user=<User>: someone tried to register with this user's address; receivers tell them.
registration_attempted = Signal()
