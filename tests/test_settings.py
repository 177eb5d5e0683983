"""The settings module: environment variables, safe defaults, refusals."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

# A key of the kind `secrets.token_urlsafe(50)` makes.
REAL_KEY = "p0Qm7vX2kL9sT4wR8yB1nC6dF3gH5jZ0aE7uI2oP9qW4xS1vN8mK3lJ6hG5fD2cA"


def load_settings(**env):
    """Import the settings in a fresh interpreter with ``env``; return the result."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    environment.update(env)
    script = (
        "import json, newsroom.settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
        "'db': s.DATABASES['default'], 'cache': s.CACHES['default']}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(**env):
    import json

    result = load_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_laptop_defaults_are_debug_sqlite_and_local_memory_cache():
    values = loaded()
    assert values["debug"] is True
    assert values["hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert values["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["db"]["NAME"].endswith("db.sqlite3")
    assert values["cache"]["BACKEND"].endswith("LocMemCache")


def test_development_key_is_refused_when_debug_is_off():
    result = load_settings(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="news.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_needs_allowed_hosts():
    result = load_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=REAL_KEY)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_settings_start_with_a_real_key_and_hosts():
    values = loaded(
        DJANGO_DEBUG="off",
        DJANGO_SECRET_KEY="a-real-secret-" * 4,
        DJANGO_ALLOWED_HOSTS="news.example, www.news.example",
    )
    assert values["debug"] is False
    assert values["hosts"] == ["news.example", "www.news.example"]


def test_ambiguous_debug_value_is_refused_with_its_name():
    result = load_settings(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a yes/no value" in result.stderr


def test_database_url_selects_postgresql_with_persistent_checked_connections():
    values = loaded(DATABASE_URL="postgres://editor:pw@db.internal:5432/newsroom")
    assert values["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert values["db"]["NAME"] == "newsroom"
    assert values["db"]["HOST"] == "db.internal"
    assert values["db"]["CONN_MAX_AGE"] == 600
    assert values["db"]["CONN_HEALTH_CHECKS"] is True


def test_redis_url_selects_djangos_redis_cache():
    values = loaded(REDIS_URL="redis://127.0.0.1:6379/1")
    assert values["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cache"]["LOCATION"] == "redis://127.0.0.1:6379/1"


def test_sqlite_file_is_set_up_for_several_workers():
    options = loaded()["db"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert "busy_timeout" in options["init_command"]
    assert options["timeout"] >= 5


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_sqlite_connection_uses_wal_on_a_file_database(tmp_path):
    import sqlite3

    script = (
        "import django, os; django.setup(); "
        "from django.db import connection; "
        "cursor = connection.cursor(); "
        "cursor.execute('PRAGMA journal_mode'); print(cursor.fetchone()[0]); "
        "cursor.execute('PRAGMA busy_timeout'); print(cursor.fetchone()[0])"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'wal.sqlite3'}"
    env["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    journal_mode, busy_timeout = result.stdout.split()
    assert journal_mode == "wal"
    assert int(busy_timeout) >= 5000
    assert sqlite3.connect(tmp_path / "wal.sqlite3").execute(
        "PRAGMA journal_mode"
    ).fetchone() == ("wal",)


def test_static_files_are_compressed_and_hashed_by_whitenoise():
    assert (
        settings.STORAGES["staticfiles"]["BACKEND"]
        == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    middleware = settings.MIDDLEWARE
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == (
        middleware.index("django.middleware.security.SecurityMiddleware") + 1
    )
