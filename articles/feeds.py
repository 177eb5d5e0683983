"""
The site's syndication feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1.

One Feed class lists the latest public stories, of the whole site or of one
topic; the three formats differ only in the feed generator. Every format
gives a story the same id, a ``tag:`` URI built from its primary key, so an
edited headline or slug never makes a reader show the story again as new.
"""

import json
from dataclasses import dataclass
from datetime import UTC
from html import unescape

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Exists, OuterRef, Prefetch, prefetch_related_objects
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.dateformat import format as format_date
from django.utils.decorators import method_decorator
from django.utils.html import (
    escape,
    format_html,
    format_html_join,
    linebreaks,
    strip_tags,
)
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from articles.freshness import latest, public, site_last_changed
from articles.models import Article, Correction, Tag
from articles.rendering import xml_safe

FEED_LENGTH = 30
SUMMARY_WORDS = 50


def summary_text(article: Article) -> str:
    """Return the dek, or else the opening words of the body, as plain text."""
    if article.dek:
        return xml_safe(article.dek)
    text = " ".join(strip_tags(article.body_html).split())
    # strip_tags() keeps entities such as &amp;: unescape them into plain text.
    return xml_safe(Truncator(unescape(text)).words(SUMMARY_WORDS))


def corrections_html(corrections: list[Correction]) -> str:
    """Return a story's corrections as HTML to follow its body, or ""."""
    if not corrections:
        return ""
    items = format_html_join(
        "",
        '<li>{}<p>Corrected <time datetime="{}">{}</time></p></li>',
        (
            (
                # Escaped by linebreaks() itself; format_html must not again.
                mark_safe(linebreaks(xml_safe(correction.text), autoescape=True)),
                correction.created_at.isoformat(),
                format_date(timezone.localtime(correction.created_at), "j F Y, H:i T"),
            )
            for correction in corrections
        ),
    )
    return format_html("<section><h2>Corrections</h2><ol>{}</ol></section>", items)


def story_id(article: Article) -> str:
    """
    Return the story's permanent id, a tag URI (RFC 4151).

    It rests on the site's domain (a setting, not the host a request came
    to, which differs between a CDN and the origin), the primary key and the
    day the story was created; never on the headline or slug, which editors
    may change.
    """
    created = article.created_at.astimezone(UTC)
    domain = settings.NEWSROOM_SITE_DOMAIN
    return f"tag:{domain},{created:%Y-%m-%d}:articles/{article.pk}"


class LastChangedMixin:
    """Date the feed (RSS lastBuildDate, Atom updated) by when it last changed."""

    def latest_post_date(self):
        # Unlike the newest item's date, this also moves when a story is
        # withdrawn, and it stays put for a feed with no items.
        return self.feed.get("last_changed") or super().latest_post_date()


class RssFeed(LastChangedMixin, feedgenerator.Rss201rev2Feed):
    """RSS 2.0 whose items carry the whole story in content:encoded."""

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
        }

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content"])


class AtomFeed(LastChangedMixin, feedgenerator.Atom1Feed):
    """Atom 1.0 whose entries carry the whole story as HTML content."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content"], {"type": "html"})


class JsonFeed(LastChangedMixin, feedgenerator.SyndicationFeed):
    """JSON Feed 1.1: https://www.jsonfeed.org/version/1.1/"""

    content_type = "application/feed+json; charset=utf-8"
    version = "https://jsonfeed.org/version/1.1"

    def write(self, outfile, encoding):
        outfile.write(json.dumps(self.as_json(), ensure_ascii=False))

    def as_json(self) -> dict:
        feed = {
            "version": self.version,
            "title": self.feed["title"],
            "home_page_url": self.feed["link"],
            "feed_url": self.feed["feed_url"],
            "description": self.feed["description"],
            "language": self.feed["language"],
        }
        if self.feed["author_name"]:
            feed["authors"] = [{"name": self.feed["author_name"]}]
        feed["items"] = [self.item_as_json(item) for item in self.items]
        return feed

    def item_as_json(self, item: dict) -> dict:
        entry = {
            "id": item["unique_id"],
            "url": item["link"],
            "title": item["title"],
            "content_html": item["content"],
            "summary": item["summary"],
        }
        if item["pubdate"]:
            entry["date_published"] = feedgenerator.rfc3339_date(item["pubdate"])
        if item["updateddate"]:
            entry["date_modified"] = feedgenerator.rfc3339_date(item["updateddate"])
        if item["author_name"]:
            entry["authors"] = [{"name": item["author_name"]}]
        if item["categories"]:
            entry["tags"] = list(item["categories"])
        return entry


@dataclass(frozen=True)
class Scope:
    """What a feed covers: every story, or one topic's."""

    tag: Tag | None = None


# The site's last change dates every feed: a topic's own stories are not
# enough (a story that lost the topic, a renamed tag, a deleted story).
@method_decorator(public(), name="__call__")
class LatestStoriesFeed(Feed):
    """The latest public stories of the site, or of the topic in the URL."""

    feed_type = RssFeed
    language = "en"

    def get_object(self, request, slug=None):
        # An unknown topic raises Tag.DoesNotExist, which Feed turns into a 404.
        return Scope(tag=None if slug is None else Tag.objects.get(slug=slug))

    def title(self, scope):
        site_name = settings.NEWSROOM_SITE_NAME
        if scope.tag is None:
            return xml_safe(site_name)
        return xml_safe(f"{site_name}: {scope.tag.name}")

    def link(self, scope):
        if scope.tag is None:
            return reverse("articles:front")
        return scope.tag.get_absolute_url()

    def description(self, scope):
        site_name = settings.NEWSROOM_SITE_NAME
        if scope.tag is None:
            return xml_safe(f"The latest stories from {site_name}.")
        return xml_safe(
            scope.tag.description
            or f"The latest stories about {scope.tag.name} from {site_name}."
        )

    def subtitle(self, scope):
        return self.description(scope)

    def author_name(self, scope):
        # Atom wants an author for every entry; stories without a byline
        # fall back to the publication.
        return xml_safe(settings.NEWSROOM_SITE_NAME)

    def feed_extra_kwargs(self, scope):
        return {"last_changed": site_last_changed()}

    def items(self, scope):
        stories = Article.objects.published()
        if scope.tag is not None:
            stories = stories.tagged([scope.tag])
        stories = list(
            stories.order_by("-published_at", "-pk")
            .defer("body", "search_vector", "source_digests")
            .annotate(
                corrected=Exists(Correction.objects.filter(article=OuterRef("pk")))
            )
            .prefetch_related("tags")[:FEED_LENGTH]
        )
        # Few stories are ever corrected: fetch corrections only for those
        # that have some, so that a feed without any costs no extra query.
        prefetch_related_objects(
            [story for story in stories if story.corrected],
            Prefetch("corrections", to_attr="feed_corrections"),
        )
        for story in stories:
            story.feed_id = story_id(story)
            if not story.corrected:
                story.feed_corrections = []
        return stories

    def item_title(self, story):
        # Plain text, not escaped twice as Django's default does: Atom titles
        # are text, and feed readers show an RSS title as written.
        return xml_safe(story.search_headline)

    def item_description(self, story):
        return escape(summary_text(story))

    def item_guid(self, story):
        return story.feed_id

    item_guid_is_permalink = False

    def item_pubdate(self, story):
        return story.published_at

    def item_updateddate(self, story):
        # A scheduled story that went live after its last edit changed then;
        # a correction changes it too (and normally moves updated_at as well).
        return latest(
            story.updated_at,
            story.published_at,
            *(correction.created_at for correction in story.feed_corrections),
        )

    def item_author_name(self, story):
        return xml_safe(story.byline) or None

    def item_categories(self, story):
        return [xml_safe(tag.name) for tag in story.tags.all()]

    def item_extra_kwargs(self, story):
        return {
            "content": xml_safe(
                story.body_html + corrections_html(story.feed_corrections)
            ),
            "summary": summary_text(story),
        }


class LatestStoriesAtomFeed(LatestStoriesFeed):
    feed_type = AtomFeed


class LatestStoriesJsonFeed(LatestStoriesFeed):
    feed_type = JsonFeed
