"""The suite runs on the test settings: its own Redis database and a file test database."""

from django.conf import settings


def test_suite_runs_on_test_settings():
    assert settings.ENVIRONMENT_NAME == "test"
    assert settings.SETTINGS_MODULE == "backoffice.settings.test"
