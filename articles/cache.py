"""
The server's cache of public responses: pages, feeds, sitemaps and the API as
anonymous readers get them, kept in the shared cache (Redis, with REDIS_URL)
so that every app server serves what any of them rendered.

Invalidation is by generation. Every stored response carries the content
generation it was rendered in; any change to content (a save, a delete, a
change of tags, wherever it comes from) starts a new generation once its
transaction commits, and from then on no server serves an older response.
The only change no write announces, a scheduled story coming due, is covered
by time: a response is kept no longer than its Cache-Control lets any
shared cache keep it, which is never past the next scheduled publication
(articles.freshness.max_age).

What is stored is decided by the response, not guessed from the URL: only a
200 marked ``Cache-Control: public`` with a max-age, setting no cookie. The
admin, previews and authenticated API calls are private or no-store and so
never stored; requests carrying credentials (a session cookie, an
Authorization header) are never served from here either.
"""

import hashlib
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, get_max_age
from django.utils.http import parse_http_date_safe

GENERATION_KEY = "content-generation"

logger = logging.getLogger(__name__)


def content_changed() -> None:
    """
    Start a new content generation when the current transaction commits
    (at once, outside one): a reader who sees the new generation must also
    see the change in the database.
    """
    transaction.on_commit(new_generation, robust=True)


def new_generation() -> str:
    generation = uuid.uuid4().hex
    cache.set(GENERATION_KEY, generation, timeout=None)
    return generation


def current_generation(stored: str | None) -> str:
    """The generation in force; if the cache lost it, a new one (never an old one)."""
    if stored is not None:
        return stored
    generation = uuid.uuid4().hex
    # Another server may have started one meanwhile: the first one wins.
    cache.add(GENERATION_KEY, generation, timeout=None)
    return cache.get(GENERATION_KEY) or generation


def response_key(request) -> str:
    parts = [request.path, request.META.get("QUERY_STRING", "")]
    if request.path.startswith("/api/"):
        # The API negotiates its format (JSON, the browsable HTML).
        parts.append(request.META.get("HTTP_ACCEPT", ""))
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"response:{digest}"


def carries_credentials(request) -> bool:
    return (
        "HTTP_AUTHORIZATION" in request.META
        or settings.SESSION_COOKIE_NAME in request.COOKIES
    )


def cache_lifetime(response) -> int:
    """How long the server may keep ``response``: 0 for anything not public."""
    if response.status_code != 200 or response.streaming or response.cookies:
        return 0
    cache_control = response.get("Cache-Control", "")
    if "public" not in cache_control or any(
        word in cache_control for word in ("private", "no-store", "no-cache")
    ):
        return 0
    return get_max_age(response) or 0


class PublicCacheMiddleware:
    """
    Serve anonymous GET and HEAD requests from the shared cache, and store
    what the views mark public. Sits inside the CORS middleware (whose
    headers depend on the request) and outside ConditionalGetMiddleware
    (whose ETag it stores, and honours itself on a hit).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not settings.NEWSROOM_PAGE_CACHE
            or request.method not in ("GET", "HEAD")
            or carries_credentials(request)
        ):
            return self.get_response(request)
        key = response_key(request)
        try:
            found = cache.get_many([GENERATION_KEY, key])
            generation = current_generation(found.get(GENERATION_KEY))
        except Exception:  # noqa: BLE001 (a cache that is down is a miss)
            logger.warning("Page cache unavailable: serving uncached", exc_info=True)
            return self.get_response(request)
        entry = found.get(key)
        if entry is not None and entry[0] == generation:
            return self.replay(request, entry)
        response = self.get_response(request)
        lifetime = cache_lifetime(response)
        if lifetime and request.method == "GET":
            headers = dict(response.items())
            entry = (generation, time.time(), headers, response.content)
            try:
                cache.set(key, entry, lifetime)
            except Exception:  # noqa: BLE001
                logger.warning("Page cache unavailable: not stored", exc_info=True)
        return response

    def replay(self, request, entry):
        _, stored_at, headers, content = entry
        response = HttpResponse(content, headers=headers)
        # A CDN counts this against max-age: nothing outlives the next
        # scheduled publication, however long it sat here.
        response.headers["Age"] = str(max(0, int(time.time() - stored_at)))
        last_modified = parse_http_date_safe(headers.get("Last-Modified", ""))
        return get_conditional_response(
            request,
            etag=headers.get("ETag"),
            last_modified=last_modified,
            response=response,
        )
