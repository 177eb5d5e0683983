"""
What search engines read: the sitemap sections behind /sitemap.xml, the
Google News sitemap and robots.txt.

/sitemap.xml is an index of sections (stories, topics, pages), so that the
stories, which only ever grow, can spread over as many files of 50,000 URLs
as they need. Locations use the scheme and host of the request.
"""

from datetime import datetime, timedelta

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.db.models.functions import Greatest
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from articles.freshness import cache_publicly, latest
from articles.models import Article, Headline, Tag, per_public_tag

# Google News reads stories from the last two days, at most 1,000 of them.
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1000


class StorySitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return Article.objects.published().only("slug", "updated_at", "published_at")

    def lastmod(self, article):
        # A scheduled story goes live without an edit: its page is new from
        # then on, as its own Last-Modified header says.
        return latest(article.updated_at, article.published_at)

    def get_latest_lastmod(self):
        # Withdrawing a story also changes this section: it leaves it.
        return Article.objects.last_changed()


def public_tag_changes() -> dict[int, datetime]:
    """Return {tag id: when a public item carrying it last changed}, in one query."""
    changes: dict[int, datetime] = {}
    rows = per_public_tag(
        lambda item: Max(Greatest(f"{item}__updated_at", f"{item}__published_at"))
    )
    for tag_id, _which, changed in rows:
        changes[tag_id] = latest(changes.get(tag_id), changed)
    return changes


class TopicSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.5

    def items(self):
        # Asked for twice per request (to count, then for a page): one
        # instance serves one request, so keep the first answer.
        if not hasattr(self, "changes"):
            self.changes = public_tag_changes()
        return Tag.objects.in_use().only("slug", "updated_at")

    def lastmod(self, tag):
        return latest(tag.updated_at, self.changes.get(tag.pk))

    def get_latest_lastmod(self):
        # Which topics are in use follows stories and headlines alike.
        return latest(
            Article.objects.last_changed(),
            Headline.objects.last_changed(),
            Tag.objects.aggregate(edited=Max("updated_at"))["edited"],
        )


class PageSitemap(Sitemap):
    """The pages with fixed addresses: front page, headlines, topics, corrections."""

    # URL name: (priority, changefreq).
    pages = {
        "articles:front": (1.0, "hourly"),
        "articles:headlines": (0.6, "hourly"),
        "articles:tags": (0.4, "daily"),
        "articles:corrections": (0.3, "daily"),
    }

    def items(self):
        return list(self.pages)

    def location(self, name):
        return reverse(name)

    def priority(self, name):
        return self.pages[name][0]

    def changefreq(self, name):
        return self.pages[name][1]


class NewsSitemap(Sitemap):
    """Public stories published in the last 48 hours, newest first."""

    limit = NEWS_LIMIT

    def items(self):
        since = timezone.now() - NEWS_WINDOW
        return (
            Article.objects.published()
            .filter(published_at__gte=since)
            .order_by("-published_at", "-pk")
            .only("slug", "headline", "seo_headline", "published_at")[:NEWS_LIMIT]
        )


def sitemap_last_changed(request, sitemaps, section=None, **kwargs) -> datetime | None:
    """Return when the sitemap index, or one of its sections, last changed."""
    if section is None:
        chosen = sitemaps.values()
    elif section in sitemaps:
        chosen = [sitemaps[section]]
    else:
        return None
    return latest(*(sitemap().get_latest_lastmod() for sitemap in chosen))


def news_last_changed(request, *args, **kwargs) -> datetime | None:
    """
    Return when the news sitemap last changed: a story changed, or the newest
    story older than the window dropped out of it, which edits nothing.
    """
    cutoff = timezone.now() - NEWS_WINDOW
    aged_out = (
        Article.objects.published()
        .filter(published_at__lt=cutoff)
        .aggregate(newest=Max("published_at"))["newest"]
    )
    return latest(Article.objects.last_changed(), aged_out and aged_out + NEWS_WINDOW)


def robots_txt(request):
    """Let crawlers in everywhere but the admin, and point them at the sitemaps."""
    sitemaps = [
        request.build_absolute_uri(reverse(name))
        for name in ("sitemap", "sitemap-news")
    ]
    lines = [
        "User-agent: *",
        # Disallow first: some parsers take the first rule that matches.
        f"Disallow: {reverse('admin:index')}",
        "Allow: /",
        "",
        *(f"Sitemap: {url}" for url in sitemaps),
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
    return cache_publicly(response)
