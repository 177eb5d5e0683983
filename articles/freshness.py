"""
HTTP caching for public pages and feeds.

Every public response says how long a shared cache (a CDN, a browser) may
keep it, and carries Last-Modified so that a client can revalidate with a
304. ConditionalGetMiddleware adds an ETag computed from the content, which
browsers send back first and which is always exact.
"""

import math
from datetime import UTC, datetime
from functools import cache, wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

from articles.models import (
    Article,
    Headline,
    Tag,
    Withdrawal,
    summarize_change_times,
)

# A time no row carries, compiled into the site's freshness query where the
# current time goes, and swapped for it on every run.
_NOW = datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def latest(*times: datetime | None) -> datetime | None:
    return max(filter(None, times), default=None)


def site_change_times(now: datetime) -> models.QuerySet:
    # Withdrawals count too: a deleted story leaves no other trace.
    return Article.objects.all().change_times_union(
        Headline.objects.all(),
        Tag.objects.all(),
        Withdrawal.objects.all(),
        now=now,
    )


@cache
def _compiled_site_change_times(alias: str) -> tuple[str, tuple, tuple[int, ...]]:
    """
    Compile the site's freshness query once per process: its SQL, its
    parameters, and where among them the current time goes.
    """
    connection = connections[alias]
    sql, params = (
        site_change_times(_NOW).query.get_compiler(connection=connection).as_sql()
    )
    placeholder = connection.ops.adapt_datetimefield_value(_NOW)
    slots = tuple(i for i, param in enumerate(params) if param in (_NOW, placeholder))
    return sql, tuple(params), slots


def site_freshness() -> tuple[datetime | None, datetime | None]:
    """
    Return when the site last changed and when it next changes on its own.

    Every public response asks, so the query (a dozen one-row aggregates, each
    read from an index) is compiled once: building it through the ORM took
    2.7 ms a request, running it 0.04 ms (1,000 stories, SQLite).
    """
    connection = connections[DEFAULT_DB_ALIAS]
    sql, params, slots = _compiled_site_change_times(DEFAULT_DB_ALIAS)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [now if i in slots else param for i, param in enumerate(params)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = connection.ops.get_db_converters(
        models.Value(None, output_field=models.DateTimeField())
    )
    for convert in converters:
        rows = [[convert(value, None, connection) for value in row] for row in rows]
    return summarize_change_times(rows)


def site_last_changed() -> datetime | None:
    """Return when any public page of the site last changed."""
    return site_freshness()[0]


def max_age(upcoming: datetime | None) -> int:
    """
    Return how long a cache may keep a public response: the usual while, but
    never past the moment a scheduled story goes public.
    """
    seconds = settings.NEWSROOM_CACHE_MAX_AGE
    if upcoming is not None:
        until = math.floor((upcoming - timezone.now()).total_seconds())
        seconds = max(0, min(seconds, until))
    return seconds


def cache_publicly(response, *, upcoming: datetime | None = None):
    """Let shared caches keep a public response for a short while."""
    if response.status_code in (200, 304):
        patch_cache_control(response, public=True, max_age=max_age(upcoming))
    return response


def public(last_changed=None):
    """
    Decorate a public view: shared caching for a short while (never past the
    next scheduled publication), and a 304 to a client whose copy is as new as
    the site's last change (or ``last_changed(request, ...)``, when given).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            changed, upcoming = site_freshness()
            if last_changed is not None:
                changed = last_changed(request, *args, **kwargs)
            timestamp = int(changed.timestamp()) if changed else None
            response = None
            if timestamp is not None and request.method in ("GET", "HEAD"):
                response = get_conditional_response(request, last_modified=timestamp)
            if response is None:
                response = view(request, *args, **kwargs)
                if timestamp is not None and not response.has_header("Last-Modified"):
                    response.headers["Last-Modified"] = http_date(timestamp)
            return cache_publicly(response, upcoming=upcoming)

        return wrapper

    return decorator
