"""Database: SQLite under var/ by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from backoffice.settings.config import database_config
from backoffice.settings.core import VAR_DIR

DATABASES = {
    "default": database_config("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
