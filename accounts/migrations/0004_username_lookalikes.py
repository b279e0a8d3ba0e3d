"""Usernames NFKC-normalised and unique by case and by look-alike skeleton; emails canonical.

Existing rows are brought into line first. Where two accounts now collide, the older one
(lowest id) keeps its name or address; a newer one's username gets "-<id>" appended and a
newer duplicate address is cleared. Each change is printed, so the operator can tell the
people concerned.
"""

import django.db.models.functions.text
from django.core.exceptions import ValidationError
from django.db import migrations, models

import accounts.models
from accounts import identity


def canonicalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    names, keys, emails, plan = set(), set(), set(), {}
    for user in User.objects.order_by("pk").iterator():
        username = identity.normalize_username(user.username)
        key = identity.username_key(username)
        if username.lower() in names or key in keys:
            username = f"{username[:140]}-{user.pk}"
            key = identity.username_key(username)
            print(f"\n  accounts: user {user.pk} renamed from {user.username!r} to {username!r} "
                  "(it looked like an older account's name)")
        names.add(username.lower())
        keys.add(key)
        email = user.email
        try:
            email = identity.normalize_email(user.email)
        except ValidationError:
            pass  # a quoted address stays as it is; new ones are refused
        if email and email.lower() in emails:
            print(f"\n  accounts: user {user.pk} address {user.email!r} cleared "
                  "(an older account has the same address)")
            email = ""
        if email:
            emails.add(email.lower())
        plan[user.pk] = (user.username != username or user.email != email, username, email, key)
    # Changed rows first step aside, so no row collides with one not yet rewritten.
    for pk, (changed, _, _, _) in plan.items():
        if changed:
            User.objects.filter(pk=pk).update(username=f"-migrating-{pk}", email="")
    for pk, (_, username, email, key) in plan.items():
        User.objects.filter(pk=pk).update(username=username, username_key=key, email=email)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_roles"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[("objects", accounts.models.Manager())],
        ),
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(default="", editable=False, max_length=600),
            preserve_default=False,
        ),
        migrations.RunPython(canonicalise, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                models.F("username_key"), name="accounts_user_username_key_unique",
                violation_error_message="This username is too similar to an existing one.",
            ),
        ),
    ]
