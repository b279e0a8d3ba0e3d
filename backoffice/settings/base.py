"""Settings shared by every environment, one module per concern. Every value has a default
that works with nothing set; dev.py, test.py, prod.py and bench.py override what differs."""

from backoffice.settings.api import *  # noqa: F403
from backoffice.settings.broker import *  # noqa: F403
from backoffice.settings.celery_config import *  # noqa: F403
from backoffice.settings.core import *  # noqa: F403
from backoffice.settings.database import *  # noqa: F403
from backoffice.settings.mail import *  # noqa: F403
from backoffice.settings.maintenance import *  # noqa: F403
from backoffice.settings.notifications import *  # noqa: F403
from backoffice.settings.operations import *  # noqa: F403
from backoffice.settings.request_log import *  # noqa: F403
from backoffice.settings.security import *  # noqa: F403

# The backup storage joins Django's storages (maintenance.py chooses local or S3).
STORAGES = {**STORAGES, "backups": BACKUP_STORAGE}  # noqa: F405
