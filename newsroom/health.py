"""
/healthz: whether this app server can reach its database and its cache, for
a load balancer or an orchestrator to act on. 200 when both answer, 503 when
either does not; never cached, and it names what failed without the error's
text (which may carry a host name or a user).
"""

import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 (any failure is "down")
        return f"unavailable ({type(error).__name__})"
    return "ok"


def _cache() -> str:
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        answered = cache.get(key)
        cache.delete(key)
    except Exception as error:  # noqa: BLE001
        return f"unavailable ({type(error).__name__})"
    return "ok" if answered == value else "unavailable (wrong answer)"


def healthz(request):
    checks = {"database": _database(), "cache": _cache()}
    healthy = all(state == "ok" for state in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    add_never_cache_headers(response)
    return response
