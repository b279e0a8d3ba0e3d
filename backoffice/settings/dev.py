"""Development: the embedded run that `make run` starts."""

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.base import MAIL_CATCHER_HOST, MAIL_CATCHER_PORT
from backoffice.settings.config import env
from backoffice.settings.mail import smtp_server_configured

DEBUG = env.bool("DEBUG", default=True)
DIAGNOSTIC_TASKS = env.bool("DIAGNOSTIC_TASKS", default=True)  # the demo runs them
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Mail goes to the mail catcher unless an SMTP server is configured (see settings/mail.py).
MAIL_CATCHER = env.bool("MAIL_CATCHER", default=not smtp_server_configured())
if MAIL_CATCHER:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT = MAIL_CATCHER_HOST, MAIL_CATCHER_PORT
    EMAIL_HOST_USER = EMAIL_HOST_PASSWORD = ""
    EMAIL_USE_TLS = EMAIL_USE_SSL = False
