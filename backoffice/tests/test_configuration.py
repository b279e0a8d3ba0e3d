"""Settings from the environment: deploy checks, static files, and one clear line on bad input."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts manage.py or celery in a subprocess

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PROD_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "backoffice.example.com",
    "DATABASE_URL": "sqlite:////tmp/backoffice-prod-check.sqlite3",
}


def run(argv, settings_module="backoffice.settings.dev", **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE",
                          "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run(
        argv, cwd=BASE_DIR, capture_output=True, text=True, timeout=240,
        env={**clean, "DJANGO_SETTINGS_MODULE": settings_module, **env},
    )


def manage(*args, **kwargs):
    return run([sys.executable, "manage.py", *args], **kwargs)


def assert_one_clear_line(result, variable):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and "configuration error" in lines[0]


def test_check_deploy_with_prod_settings_has_no_warnings():
    result = manage("check", "--deploy", settings_module="backoffice.settings.prod", **PROD_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_collectstatic_works_with_prod_settings(tmp_path):
    result = manage("collectstatic", "--noinput", settings_module="backoffice.settings.prod",
                    STATIC_ROOT=str(tmp_path), **PROD_ENV)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()  # the manifest
    assert list(tmp_path.glob("unfold/css/styles.*.css.gz"))  # hashed and compressed


def test_missing_secret_key_in_prod_stops_with_one_line():
    env = {k: v for k, v in PROD_ENV.items() if k != "SECRET_KEY"}
    assert_one_clear_line(manage("check", settings_module="backoffice.settings.prod", **env),
                          "SECRET_KEY")


@pytest.mark.parametrize("url", ["nonsense", "mysql-ish://x", "postgres://u@db:port/name",
                                 "postgres://u@db:5432/"])
def test_malformed_database_url_stops_with_one_line(url):
    assert_one_clear_line(manage("check", DATABASE_URL=url), "DATABASE_URL")


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "redis://127.0.0.1:abc/0",
                                 "redis://127.0.0.1:6379/zero", "redis://"])
def test_malformed_redis_url_stops_with_one_line(url):
    assert_one_clear_line(manage("check", REDIS_URL=url), "REDIS_URL")


def test_celery_command_reports_bad_config_in_one_line():
    result = run([sys.executable, "-m", "celery", "-A", "backoffice", "inspect", "ping"],
                 REDIS_URL="redis://127.0.0.1:nope/0")
    assert_one_clear_line(result, "REDIS_URL")


@pytest.mark.parametrize(("variable", "value"), [
    ("BACKUP_S3_ADDRESSING_STYLE", "sideways"),
    ("BACKUP_S3_ENDPOINT_URL", "s3.example.com:9000"),
    ("BACKUP_S3_ENDPOINT_URL", "http://s3.example.com/some/path"),
])
def test_malformed_object_storage_settings_stop_with_one_line(variable, value):
    result = manage("check", BACKUP_S3_BUCKET="backups", **{variable: value})
    assert_one_clear_line(result, variable)


@pytest.mark.parametrize("variable", ["API_REQUEST_LOG_FLUSH_SECONDS", "TASK_STATS_FLUSH_SECONDS"])
def test_a_buffered_writer_without_an_interval_stops_with_one_line(variable):
    assert_one_clear_line(manage("check", **{variable: "0"}), variable)


def test_backup_dir_inside_static_root_is_refused(tmp_path):
    result = manage("check", STATIC_ROOT=str(tmp_path), BACKUP_DIR=str(tmp_path / "backups"))
    assert_one_clear_line(result, "BACKUP_DIR")


def test_dev_defaults_work_with_nothing_set():
    result = manage("check")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("url", ["ftp://mail.example.com", "smtp://host:port"])
def test_malformed_email_url_stops_with_one_line(url):
    assert_one_clear_line(manage("check", EMAIL_URL=url), "EMAIL_URL")


def settings_values(*names, **env) -> list[str]:
    code = ("import django; django.setup(); from django.conf import settings; "
            f"print('|'.join(repr(getattr(settings, n)) for n in {names!r}))")
    result = run([sys.executable, "-c", code], **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split("|")


def test_email_url_spells_out_every_email_setting():
    values = settings_values(
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT",
        EMAIL_URL="smtp+ssl://mailer:s3cret@smtp.example.com:465", EMAIL_HOST="ignored",
        EMAIL_TIMEOUT="7")

    assert values == ["'django.core.mail.backends.smtp.EmailBackend'", "'smtp.example.com'",
                      "465", "'mailer'", "'s3cret'", "False", "True", "7"]


def test_separate_email_variables_apply_without_email_url():
    values = settings_values("EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_USE_SSL",
                             EMAIL_HOST="smtp.example.com", EMAIL_PORT="587",
                             EMAIL_USE_TLS="true")

    assert values == ["'smtp.example.com'", "587", "True", "False"]


def test_loading_settings_creates_no_directory_and_start_up_creates_the_databases(tmp_path):
    database = tmp_path / "state" / "db.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    result = run([sys.executable, "-c", "import backoffice.settings.dev"], **env)
    assert result.returncode == 0, result.stderr
    assert not database.parent.exists()

    assert manage("check", "--database", "default", **env).returncode == 0
    assert database.parent.is_dir()


def test_site_url_follows_web_host_and_port_without_the_launcher():
    show = [sys.executable, "-c", "import django; django.setup(); "
            "from django.conf import settings; print(settings.SITE_URL)"]
    env = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "WEB_HOST", "WEB_PORT"}}
    env["DJANGO_SETTINGS_MODULE"] = "backoffice.settings.dev"

    def site_url(**given):
        return subprocess.run(show, cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
                              env={**env, **given})

    shown = site_url(WEB_HOST="0.0.0.0", WEB_PORT="9123")
    assert shown.stdout.strip() == "http://127.0.0.1:9123", shown.stderr
    assert site_url().stdout.strip() == "http://127.0.0.1:8000"
    assert_one_clear_line(site_url(WEB_PORT="eighty"), "WEB_PORT")


PRODUCT_APPS = ("accounts.", "notifications.", "reports.", "maintenance.", "operations.",
                "backoffice.", "devmail.")
DIAGNOSTIC = {"maintenance.tasks.noop", "maintenance.tasks.echo", "maintenance.tasks.total",
              "maintenance.tasks.fail", "maintenance.tasks.flaky", "maintenance.tasks.sleep"}


def registered_tasks(settings_module: str, **env) -> set[str]:
    result = run([sys.executable, "-c",
                  "import django; django.setup(); from backoffice.celery import app; "
                  "app.loader.import_default_modules(); print('\\n'.join(sorted(app.tasks)))"],
                 settings_module=settings_module, **env)
    assert result.returncode == 0, result.stderr
    return {name for name in result.stdout.split() if name.startswith(PRODUCT_APPS)}


def test_productions_task_registry_holds_product_tasks_only():
    production = registered_tasks("backoffice.settings.prod", **PROD_ENV)
    development = registered_tasks("backoffice.settings.dev")

    assert "maintenance.tasks.backup_database" in production
    assert "notifications.tasks.send_email" in production
    assert not production & DIAGNOSTIC
    assert development >= DIAGNOSTIC  # the demo runs them
    assert development - DIAGNOSTIC == production
    forced = registered_tasks("backoffice.settings.prod", DIAGNOSTIC_TASKS="true", **PROD_ENV)
    assert not forced & DIAGNOSTIC  # no variable brings them into production
