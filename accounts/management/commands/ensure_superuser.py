"""Create the first superuser once; print a generated password once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from environ import Env


class Command(BaseCommand):
    help = (
        "Create a superuser if none exists. Username/email/password come from "
        "DJANGO_SUPERUSER_USERNAME/EMAIL/PASSWORD; a password is generated and printed once "
        "when none is given."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        existing = users.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            self.stdout.write(f"superuser exists: {existing.get_username()}")
            return
        env = Env()
        username = env.str("DJANGO_SUPERUSER_USERNAME", default="admin")
        email = env.str("DJANGO_SUPERUSER_EMAIL", default="admin@localhost")
        password = env.str("DJANGO_SUPERUSER_PASSWORD", default="")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email=email, password=password)
        if generated:
            self.stdout.write(self.style.SUCCESS(
                f"created superuser {username!r} with password: {password}\n"
                "  (shown only this once; change it under the user menu)"
            ))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"created superuser {username!r} (password from DJANGO_SUPERUSER_PASSWORD)"
            ))
