"""Development: the embedded run that `make run` starts."""

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.config import env

DEBUG = env.bool("DEBUG", default=True)
ENVIRONMENT_NAME = env.str("ENVIRONMENT_NAME", default="development")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
