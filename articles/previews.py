"""
Secret preview links: an unpublished story, shown as its public page will be.

A link carries the story's primary key, signed with a timestamp
(``TimestampSigner``, salted for previews only), so it cannot be turned into
a link to another story, nor made to outlive ``NEWSROOM_PREVIEW_MAX_AGE``
seconds (48 hours by default). Anyone who has it may look: that is the point
of sharing it. Every way a link can fail (malformed, tampered with, expired,
its story deleted) is the same 404, so a failure tells nothing.

The link follows the story rather than one version of it: an editor who
fixes a typo and asks "reload" keeps the link working. The signature pins
the story, the expiry bounds how long the link lives.

A story that is already public has its own page: the link redirects there.
The page is the public template (``articles/preview.html`` extends it only to
add a robots meta tag) with the public view's context, plus ``preview``.
"""

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from articles.models import Article
from articles.views import ArticleDetailView, story_queryset

SALT = "articles.previews"
DEFAULT_MAX_AGE = 48 * 60 * 60


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def max_age() -> int:
    """Return how many seconds a preview link lives."""
    return int(getattr(settings, "NEWSROOM_PREVIEW_MAX_AGE", DEFAULT_MAX_AGE))


def make_token(article: Article) -> str:
    """Return a new, signed and timed token for ``article``."""
    return _signer().sign(str(article.pk))


def preview_url(article: Article, *, request: HttpRequest | None = None) -> str:
    """Return a new preview link to ``article``: absolute when given a request."""
    path = reverse("preview", args=[make_token(article)])
    return request.build_absolute_uri(path) if request is not None else path


def article_for(token: str) -> Article:
    """Return the story ``token`` grants a look at; any failure is a 404."""
    try:
        pk = int(_signer().unsign(token, max_age=max_age()))
        # Any story, with whatever the public page prefetches (tags, public
        # headlines, corrections, and whatever it comes to need), so that
        # both pages are built from the same data.
        stories = story_queryset(Article.objects.all())
        return stories.get(pk=pk)
    except (signing.BadSignature, ValueError, Article.DoesNotExist) as error:
        # BadSignature includes SignatureExpired: say nothing of which it was.
        raise Http404("No such preview.") from error


def publication_time(article: Article) -> datetime:
    """
    Return when ``article`` would go out if published now, as
    ``Publishable.publish()`` decides it: its own time if it has one, else
    now; never before its embargo.
    """
    when = article.published_at or timezone.now()
    if article.embargo_until and when < article.embargo_until:
        return article.embargo_until
    return when


def keep_private(response: HttpResponse) -> HttpResponse:
    """Keep a preview out of caches, search engines and other sites' logs."""
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token is in the address: never send it on in a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def preview(request: HttpRequest, token: str) -> HttpResponse:
    """Show the story ``token`` was made for, as its public page will look."""
    article = article_for(token)
    if article.is_public:
        return keep_private(redirect(article))
    # Shown with the time it would carry (the page has no place for none);
    # nothing is saved.
    article.published_at = publication_time(article)
    view = ArticleDetailView()
    view.setup(request, slug=article.slug)
    view.object = article
    context = view.get_context_data(object=article, preview=True)
    response = TemplateResponse(request, "articles/preview.html", context)
    return keep_private(response)
