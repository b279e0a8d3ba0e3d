"""Development: the embedded run that `make run` starts."""

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.config import env

DEBUG = env.bool("DEBUG", default=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
