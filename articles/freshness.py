"""
HTTP caching for public pages and feeds.

Every public response says how long a shared cache (a CDN, a browser) may
keep it, and carries Last-Modified so that a client can revalidate with a
304. ConditionalGetMiddleware adds an ETag computed from the content, which
browsers send back first and which is always exact.
"""

from datetime import datetime
from functools import wraps

from django.conf import settings
from django.utils.cache import patch_cache_control
from django.views.decorators.http import last_modified

from articles.models import Article, Headline, Tag, Withdrawal


def latest(*times: datetime | None) -> datetime | None:
    return max(filter(None, times), default=None)


def site_last_changed(request, *args, **kwargs) -> datetime | None:
    """Return when any public page of the site last changed."""
    # Withdrawals count too: a deleted story leaves no other trace.
    return Article.objects.all().last_changed(
        Headline.objects.all(), Tag.objects.all(), Withdrawal.objects.all()
    )


def cache_publicly(response):
    """Let shared caches keep a public response for a short while."""
    if response.status_code in (200, 304):
        patch_cache_control(
            response, public=True, max_age=settings.NEWSROOM_CACHE_MAX_AGE
        )
    return response


def public(last_changed=site_last_changed):
    """
    Decorate a public view: shared caching for a short while, and a 304 to a
    client whose copy is as new as ``last_changed(request, ...)``.
    """

    def decorator(view):
        conditional = last_modified(last_changed)(view)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return cache_publicly(conditional(request, *args, **kwargs))

        return wrapper

    return decorator
