"""
Hostile content, without a browser: the XSS corpus (tests/xss_corpus.py) is
stored through the admin, the write API and the seed import, then every
surface that shows it (public pages, feeds, sitemaps, JSON-LD, the API, the
admin) is parsed and searched for anything that could run. The browser's
side is tests/test_browser_xss.py.
"""

import functools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

import feedparser
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from articles.models import Article, Headline, Tag
from articles.roles import CHIEF_EDITOR, EDITOR
from tests.xss_corpus import (
    ARTICLE_ADD,
    DOORS,
    PAYLOADS,
    TAG_ADD,
    admin_for,
    api_for,
    find_scripts,
    inline_management,
    markers_in,
    plant,
)

# Every test reads or writes; each one's transaction nests in the module's.
pytestmark = pytest.mark.django_db

SITE_NAME = settings.NEWSROOM_SITE_NAME
# The admin's own: its icon sprite and theme toggle (SVG), its text fields.
ADMIN_OWN = frozenset({"svg", "textarea"})
# One payload of each category, where a page per payload would add nothing.
SAMPLE = list({payload.category: payload for payload in PAYLOADS}.values())


@dataclass
class Survey:
    """What one surface showed: which payloads reached it, and any problem."""

    name: str
    seen: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    responses: int = 0

    def html(self, url: str, page: str, *, own: frozenset = frozenset()):
        """Look for anything that could run in an HTML page or fragment."""
        found = parse(page)
        self.problems += [
            f"{url}: {problem}"
            for problem in found.problems
            if problem not in {f"<{tag}> element" for tag in own}
        ]
        self.text(page)
        return found

    def text(self, text: str) -> None:
        self.responses += 1
        self.seen |= markers_in(text)

    def check(self, *, every_payload: bool = True) -> None:
        """Print the tally; fail on any problem, or a payload that never showed."""
        print(  # noqa: T201
            f"{self.name}: payloads tried: {len(self.seen)} in {self.responses} "
            f"responses, markup that could run: {len(self.problems)}"
        )
        assert self.problems == []
        missing = {payload.id for payload in PAYLOADS} - self.seen
        if every_payload:
            assert not missing, f"payloads that never reached {self.name}: {missing}"
        else:
            assert len(self.seen) >= len(PAYLOADS) // 2, missing


@functools.lru_cache(maxsize=256)
def parse(page: str):
    # Feeds repeat the story of every payload in each topic's feed: read once.
    return find_scripts(page)


def make_user(username: str, role: str) -> User:
    user = User.objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture(scope="module")
def planted(django_db_setup, django_db_blocker, tmp_path_factory):
    """
    Store the corpus once for the module, in a transaction rolled back at the
    end (each test's own transaction nests inside it).
    """
    with django_db_blocker.unblock(), transaction.atomic():
        editor = make_user("xss-editor", EDITOR)
        chief = make_user("xss-chief", CHIEF_EDITOR)
        planted = plant(
            editor=editor, chief=chief, folder=tmp_path_factory.mktemp("seeds")
        )
        planted.chief = chief
        yield planted
        transaction.set_rollback(True)


def public_articles():
    return Article.objects.published().prefetch_related("tags", "corrections")


def following_pages(client, url: str):
    """Yield (url, page) for a list page and those after it (rel="next")."""
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        yield url, page
        after = [a.attrs["href"] for a in find_scripts(page).find("a", rel="next")]
        url = after[0] if after else None
        if url and url.startswith("?"):
            url = response.wsgi_request.path + url


# The finder: it sees markup that runs, and nothing in text that is escaped.

LIVE = {
    "script tag", "event handler", "javascript: link", "data: link", "svg",
    "embedding", "meta refresh", "mutation", "style",
}  # fmt: skip
# Raw, these are no script to a browser either: a tag named "scr<script", an
# image whose src is "x/onerror=…", a scheme written in percent-escapes.
INERT_RAW = ("<scr<script>", "<img/src=x/", '<a href="%6A')


def test_the_finder_sees_markup_that_could_run():
    for payload in PAYLOADS:
        assert find_scripts(escape(payload.text)).problems == [], payload
        if payload.category in LIVE and not payload.text.startswith(INERT_RAW):
            assert find_scripts(payload.text).problems, payload


# Storing: every door keeps the text as typed, and refuses what it must.


def test_every_door_stores_the_payloads_as_typed(planted):
    for payload in PAYLOADS:
        text, line = payload.text.strip(), payload.line(200).strip()
        article = planted.articles[payload.id]
        assert planted.tags[payload.id].name == payload.line().strip()
        assert planted.tags[payload.id].description == text
        assert planted.headlines[payload.id].text == payload.line(300).strip()
        assert article.is_public
        if planted.doors[payload.id] == "seed":
            assert article.source.name == f"xss-{payload.id:03}.txt"
            assert payload.marker in article.body
        else:
            assert (article.headline, article.byline) == (line, line)
            assert (article.dek, article.body) == (text, text)
    for name in DOORS:
        categories = {p.category for p in PAYLOADS if planted.doors[p.id] == name}
        assert categories == {p.category for p in PAYLOADS}, name
    # The seed import refuses a document only with a reason, naming its line.
    for reason in planted.refused.values():
        assert re.fullmatch(r"\d+: .{20,}", reason), reason
    counts = {name: list(planted.doors.values()).count(name) for name in DOORS}
    print(  # noqa: T201
        f"stored: {len(PAYLOADS)} payloads as tag names and descriptions (admin); "
        "as headlines, deks, bylines, bodies and headline lists through the "
        f"admin ({counts['admin']}), the write API ({counts['api']}) and the seed "
        f"import ({counts['seed']}; it refused {len(planted.refused)}, which came "
        f"in through the API); and all {len(PAYLOADS)} in one story"
    )


def test_hostile_slugs_are_refused_with_a_clear_error():
    editor = make_user("slug-editor", EDITOR)
    editor_admin, api = admin_for(editor), api_for(editor)
    chief_admin = admin_for(make_user("slug-chief", CHIEF_EDITOR))
    before = [model.objects.count() for model in (Article, Headline, Tag)]
    survey = Survey("refused slugs (the admin's forms shown again)")
    refused = set()
    for payload in PAYLOADS:
        writes = [
            (
                reverse("api:article-list"),
                {"headline": "Story", "body": "Text.", "slug": payload.text},
            )
        ]
        if payload in SAMPLE:
            writes += [
                (reverse("api:headline-list"), {"text": "Line", "slug": payload.text}),
                (
                    reverse("api:article-list"),
                    {"headline": "Story", "body": "Text.", "tags": [payload.text]},
                ),
            ]
        for url, data in writes:
            response = api.post(url, data, format="json")
            assert response.status_code == 400, response.content
            error = response.json()["error"]
            [name] = error["fields"]
            assert name in {"slug", "tags"}
            assert error["message"] == f"Not valid: {name}."
            assert error["fields"][name][0].startswith(("Enter a valid", "Unknown tag"))
        refused.add(payload.id)
    for payload in SAMPLE:
        response = chief_admin.post(
            reverse(TAG_ADD),
            {"name": f"Tag {payload.id}", "slug": payload.text, "kind": "topic"},
        )
        assert list(response.context["adminform"].form.errors) == ["slug"]
        survey.html(reverse(TAG_ADD), response.content.decode(), own=ADMIN_OWN)
        response = editor_admin.post(
            reverse(ARTICLE_ADD),
            {
                "headline": f"Story {payload.id}",
                "slug": payload.text,
                "body": "Text.",
                **inline_management(),
            },
        )
        assert list(response.context["adminform"].form.errors) == ["slug"]
        survey.html(reverse(ARTICLE_ADD), response.content.decode(), own=ADMIN_OWN)
    assert [model.objects.count() for model in (Article, Headline, Tag)] == before
    assert survey.problems == []
    assert survey.seen == {payload.id for payload in SAMPLE}
    print(  # noqa: T201
        f"refused slugs: payloads tried: {len(refused)}, refused: {len(refused)} "
        f"(API), {len(survey.seen)} of them in the admin's forms too"
    )


def test_nul_characters_are_refused_cleanly():
    editor = make_user("nul-editor", EDITOR)
    before = Article.objects.count()
    text = "<script>alert(1)</script>\x00<img src=x onerror=alert(1)>"

    api = api_for(editor).post(
        reverse("api:article-list"),
        {"headline": text, "dek": text, "byline": text, "body": text},
        format="json",
    )
    form = admin_for(editor).post(
        reverse(ARTICLE_ADD),
        {"headline": text, "slug": "", "body": text, **inline_management()},
    )

    assert api.status_code == 400
    assert set(api.json()["error"]["fields"]) == {"headline", "dek", "byline", "body"}
    assert form.status_code == 200
    assert {"headline", "body"} <= set(form.context["adminform"].form.errors)
    assert Article.objects.count() == before


# Reading: every surface shows the text as text, and nothing that runs.


def test_story_pages_show_the_payloads_as_text(planted, client):
    survey = Survey("story pages (with meta tags and JSON-LD)")
    for article in public_articles():
        url = article.get_absolute_url()
        response = client.get(url)
        assert response.status_code == 200, url
        page = survey.html(url, response.content.decode())
        description = article.dek or article.headline
        tags = [tag.name for tag in article.tags.all()]

        assert [title.text for title in page.find("title")] == [
            f"{article.search_headline} · {SITE_NAME}"
        ]
        assert [h1.text for h1 in page.find("h1")] == [article.headline]
        for name, value in [
            ("description", description),
            ("twitter:title", article.share_headline),
            ("twitter:description", description),
        ]:
            assert page.find("meta", name=name)[0].attrs["content"] == value
        for name, value in [
            ("og:title", article.share_headline),
            ("og:description", description),
        ]:
            assert page.find("meta", property=name)[0].attrs["content"] == value
        assert [
            meta.attrs["content"] for meta in page.find("meta", property="article:tag")
        ] == tags
        if article.byline:
            [byline] = page.find("span", **{"class": "story__byline"})
            assert byline.text == f"By {article.byline}"

        [block] = page.json_blocks
        data = json.loads(block)
        assert data["headline"] == article.search_headline[:110]
        assert data["description"] == article.dek
        if article.byline:
            assert data["author"] == {"@type": "Person", "name": article.byline}
        assert data["keywords"] == tags
        assert [item["text"] for item in data.get("correction", [])] == [
            correction.text for correction in article.corrections.all()
        ]
    survey.check()


def test_topic_pages_and_lists_show_the_payloads_as_text(planted, client):
    survey = Survey("topic pages and lists (front, headlines, topics, archive, …)")
    for tag in Tag.objects.all():
        response = client.get(tag.get_absolute_url())
        assert response.status_code == 200
        page = survey.html(tag.get_absolute_url(), response.content.decode())
        assert [h1.text for h1 in page.find("h1")] == [tag.name]
        assert page.find("title")[0].text == f"{tag.name} · {SITE_NAME}"
        assert page.find("meta", name="description")[0].attrs["content"] == (
            tag.description
        )
        feed = page.find("link", type="application/rss+xml")[0]
        assert feed.attrs["title"] == f"{SITE_NAME}: {tag.name} (RSS)"
    now = timezone.localtime()
    for start in [
        reverse("articles:front"),
        reverse("articles:tags"),
        reverse("articles:headlines"),
        reverse("articles:corrections"),
        reverse("articles:archive", args=[f"{now:%Y}", f"{now:%m}"]),
    ]:
        for url, page in following_pages(client, start):
            survey.html(url, page)
    survey.check()


def test_search_shows_the_results_and_the_query_as_text(planted, client):
    survey = Survey("search (results, and each payload as the query)")
    search = reverse("articles:search")
    # Words every payload holds, however the database splits them into words.
    for word in ("xssHit", "alert"):
        for url, page in following_pages(client, f"{search}?q={word}"):
            survey.html(url, page)
    for payload in SAMPLE:
        url = f"{search}?{urlencode({'q': payload.text})}"
        response = client.get(url)
        assert response.status_code == 200
        page = survey.html(url, response.content.decode())
        query = " ".join(payload.text.split())
        assert page.find("input", name="q")[0].attrs["value"] == query
        assert page.find("title")[0].text == f"Search: {query} · {SITE_NAME}"
    # PostgreSQL's text search reads <script>…</script> as a tag and skips it,
    # so it finds fewer of the payload stories than SQLite does.
    survey.check(every_payload=connection.vendor != "postgresql")


ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def feeds() -> list[tuple[str, Tag | None]]:
    """(url, topic) of the site's feeds, and of each topic's in one format."""
    kinds = ("rss", "atom", "json")
    urls = [(reverse(f"articles:feed-{kind}"), None) for kind in kinds]
    for number, tag in enumerate(Tag.objects.order_by("pk")):
        kind = kinds[number % len(kinds)]
        urls.append((reverse(f"articles:tag-feed-{kind}", args=[tag.slug]), tag))
    return urls


def test_feeds_stay_well_formed_and_carry_only_clean_html(planted, client):
    survey = Survey("feeds (RSS, Atom and JSON Feed; the site's and each topic's)")
    titles = {article.search_headline for article in public_articles()}
    tags = {tag.name for tag in Tag.objects.all()}
    sample = {planted.tags[payload.id] for payload in SAMPLE}
    for url, tag in feeds():
        response = client.get(url)
        assert response.status_code == 200, url
        survey.text(response.content.decode())
        title = f"{SITE_NAME}: {tag.name}" if tag else SITE_NAME
        if url.endswith(".json"):
            feed = json.loads(response.content)
            assert feed["title"] == title
            for item in feed["items"]:
                assert item["title"] in titles
                assert set(item.get("tags", [])) <= tags
                survey.html(url, item["content_html"])
            continue
        root = ET.fromstring(response.content)  # well-formed XML, or this raises
        if tag is None or tag in sample:  # feedparser is slow with big stories
            parsed = feedparser.parse(response.content)
            assert not parsed.bozo, (url, parsed.get("bozo_exception"))
            assert parsed.feed.title == title
        if url.endswith(".rss"):
            assert root.findtext("channel/title") == title
            for item in root.iter("item"):
                assert item.findtext("title") in titles
                assert {c.text for c in item.iter("category")} <= tags
                survey.html(url, item.findtext("description"))
                survey.html(url, item.findtext(CONTENT))
        else:
            assert root.findtext(f"{ATOM}title") == title
            for entry in root.iter(f"{ATOM}entry"):
                assert entry.findtext(f"{ATOM}title") in titles
                survey.html(url, entry.findtext(f"{ATOM}summary") or "")
                survey.html(url, entry.findtext(f"{ATOM}content"))
    survey.check()


def test_sitemaps_stay_well_formed(planted, client):
    titles = {article.search_headline for article in public_articles()}
    news = ET.fromstring(client.get(reverse("sitemap-news")).content)
    assert {title.text for title in news.iter(f"{NEWS}title")} == titles
    ET.fromstring(client.get(reverse("sitemap")).content)
    for section in ("stories", "topics", "pages"):
        ET.fromstring(client.get(f"/sitemap-{section}.xml").content)


def api_pages(client, url: str):
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content)
        assert response["Content-Type"] == "application/json"
        body = response.json()
        yield response.content.decode(), body["results"]
        url = body["next"]


def test_api_carries_the_text_and_only_clean_html(planted, client):
    survey = Survey("API (stories with body_html, headlines, topics)")
    articles = {article.slug: article for article in public_articles()}
    for text, results in api_pages(client, "/api/v1/articles/?page_size=100"):
        survey.text(text)
        for item in results:
            article = articles[item["slug"]]
            for name in ("headline", "seo_headline", "dek", "byline", "body"):
                assert item[name] == getattr(article, name)
            assert [tag["name"] for tag in item["tags"]] == [
                tag.name for tag in article.tags.all()
            ]
            assert [correction["text"] for correction in item["corrections"]] == [
                correction.text for correction in article.corrections.all()
            ]
            survey.html(item["api_url"], item["body_html"])
    headlines = {headline.slug: headline.text for headline in Headline.objects.all()}
    for text, results in api_pages(client, "/api/v1/headlines/?page_size=100"):
        survey.text(text)
        for item in results:
            assert item["text"] == headlines[item["slug"]]
    tags = {tag.slug: tag for tag in Tag.objects.all()}
    for text, results in api_pages(client, "/api/v1/tags/?page_size=100"):
        survey.text(text)
        for item in results:
            assert item["name"] == tags[item["slug"]].name
            assert item["description"] == tags[item["slug"]].description
    survey.check()


def admin_list_pages(client, model: str):
    url = reverse(f"admin:articles_{model}_changelist")
    response = client.get(url)
    assert response.status_code == 200
    yield url, response.content.decode()
    for number in range(2, response.context["cl"].paginator.num_pages + 1):
        page = client.get(url, {"p": number})
        assert page.status_code == 200
        yield f"{url}?p={number}", page.content.decode()


def test_admin_lists_forms_and_history_show_the_payloads_as_text(planted):
    client = admin_for(planted.chief)
    survey = Survey("admin (lists, change forms, history, compare, dashboard)")
    for model in ("article", "headline", "tag", "sourcedocument"):
        for url, page in admin_list_pages(client, model):
            survey.html(url, page, own=ADMIN_OWN)
    # The story of every payload shows them all: body, tag options, suggested
    # tags. A page per payload for the one-line fields, by category.
    items = [planted.everything]
    for payload in SAMPLE:
        article = planted.articles[payload.id]
        items += [article, planted.headlines[payload.id], planted.tags[payload.id]]
        if article.source_id:
            items.append(article.source)
    for item in items:
        name = item._meta.model_name
        url = reverse(f"admin:articles_{name}_change", args=[item.pk])
        response = client.get(url)
        assert response.status_code == 200, url
        page = survey.html(url, response.content.decode(), own=ADMIN_OWN)
        if isinstance(item, Article):
            for name in ("headline", "byline"):
                [field] = page.find("input", name=name)
                assert field.attrs.get("value", "") == getattr(item, name)
            [body] = page.find("textarea", name="body")
            assert body.text.removeprefix("\n") == item.body
            assert len(page.find("select", name="tags")) == 1
            assert {tag.name for tag in item.tags.all()} <= {
                option.text for option in page.find("option", selected="")
            }
    for payload in SAMPLE:
        article = planted.articles[payload.id]
        if planted.doors[payload.id] != "admin":
            continue
        url = reverse("admin:articles_article_history", args=[article.pk])
        response = client.get(url)
        assert response.status_code == 200
        page = survey.html(url, response.content.decode(), own=ADMIN_OWN)
        older, newer = [radio.attrs["value"] for radio in page.find("input", name="a")]
        compare = reverse("admin:articles_article_compare", args=[article.pk])
        response = client.get(compare, {"a": newer, "b": older})
        assert response.status_code == 200
        page = survey.html(compare, response.content.decode(), own=ADMIN_OWN)
        assert article.dek in " ".join(ins.text for ins in page.find("ins"))
    url = reverse("admin:index")
    survey.html(url, client.get(url).content.decode(), own=ADMIN_OWN)
    survey.check()
