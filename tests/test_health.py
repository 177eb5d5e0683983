"""
/healthz, and what happens when the database or the cache cannot be
reached: a 503 that names the part that failed, and pages that still work
when only the cache is down.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on port 1.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.mark.django_db
def test_healthz_says_ok_when_database_and_cache_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
    }
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_cache_is_unreachable(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("unavailable (")
    assert "127.0.0.1" not in response.content.decode()


def test_healthz_is_503_when_the_database_is_unreachable():
    """A real server process pointed at a database nobody answers for."""
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client(HTTP_HOST='127.0.0.1').get('/healthz')\n"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DATABASE_URL": "postgres://newsroom:secret@127.0.0.1:1/newsroom",
        "DJANGO_DEBUG": "true",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["checks"]["database"].startswith("unavailable (")
    assert answer["body"]["checks"]["cache"] == "ok"
    assert "secret" not in result.stdout


@pytest.mark.django_db
def test_pages_are_served_uncached_when_the_cache_is_down(
    client, make_article, settings
):
    make_article(headline="Harbour reopens")
    settings.NEWSROOM_PAGE_CACHE = True
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/")
    assert response.status_code == 200
    assert "Harbour reopens" in response.content.decode()
