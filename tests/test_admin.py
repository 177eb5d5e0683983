"""The editorial admin: lists, bulk publishing, search, tags and query counts."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import localize

from articles.models import Article, Headline, SourceDocument, Status, Tag

ARTICLES = "/admin/articles/article/"
HEADLINES = "/admin/articles/headline/"
TAGS = "/admin/articles/tag/"
SOURCE_DOCUMENTS = "/admin/articles/sourcedocument/"
AUTOCOMPLETE = "/admin/autocomplete/"


def rows(response):
    """Return the objects the changelist shows."""
    return list(response.context["cl"].result_list)


def messages(response):
    return [str(message) for message in response.context["messages"]]


def field_cell(response, obj, field):
    """Return the HTML of one changelist cell (``<td class="field-…">``)."""
    page = response.content.decode()
    row = re.search(
        rf'<tr><td class="action-checkbox"><input [^>]*value="{obj.pk}".*?</tr>',
        page,
        re.S,
    )
    assert row, f"no row for {obj!r}"
    cell = re.search(rf'<t[dh] class="field-{field}[ "].*?</t[dh]>', row.group(), re.S)
    assert cell, f"no {field} column in the row for {obj!r}"
    return cell.group()


def run_action(client, url, action, objects):
    return client.post(
        url,
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
        follow=True,
    )


# Changelists and their columns


def test_article_list_shows_headline_status_time_tags_and_review_flag(
    admin_client, make_article, make_tag
):
    china = make_tag(name="China", slug="china")
    trade = make_tag(name="Trade", slug="trade")
    article = make_article(
        headline="Ports reopen after the storm",
        tags=[china, trade],
        needs_review=True,
    )

    response = admin_client.get(ARTICLES)

    assert response.status_code == 200
    page = response.content.decode()
    for column in ["headline", "status_label", "published_at", "tag_list"]:
        assert f"column-{column}" in page
    assert "column-needs_review" in page
    assert rows(response) == [article]
    assert f'href="{ARTICLES}{article.pk}/change/"' in field_cell(
        response, article, "headline"
    )
    assert ">Ports reopen after the storm</a>" in field_cell(
        response, article, "headline"
    )
    assert ">Published<" in field_cell(response, article, "status_label")
    published = localize(timezone.localtime(article.published_at))
    assert f">{published}<" in field_cell(response, article, "published_at")
    assert ">China, Trade<" in field_cell(response, article, "tag_list")
    assert 'alt="True"' in field_cell(response, article, "needs_review")


def test_article_list_shows_a_cleared_review_flag_as_no(admin_client, make_article):
    article = make_article(needs_review=False)

    response = admin_client.get(ARTICLES)

    assert 'alt="False"' in field_cell(response, article, "needs_review")


def test_headline_list_links_each_headline_to_its_story_admin_page(
    admin_client, make_article, make_headline, make_tag
):
    story = make_article(headline="Parliament passes the budget")
    linked = make_headline(
        text="Budget passes", article=story, tags=[make_tag(name="Economy")]
    )
    loose = make_headline(text="Storm warning for the coast")

    response = admin_client.get(HEADLINES)

    assert response.status_code == 200
    page = response.content.decode()
    for column in ["text", "status_label", "published_at", "tag_list"]:
        assert f"column-{column}" in page
    assert set(rows(response)) == {linked, loose}
    story_cell = field_cell(response, linked, "linked_article")
    assert (
        f'<a href="{ARTICLES}{story.pk}/change/">Parliament passes the budget</a>'
        in story_cell
    )
    assert ">Economy<" in field_cell(response, linked, "tag_list")
    assert "<a " not in field_cell(response, loose, "linked_article")
    assert "—" in field_cell(response, loose, "linked_article")


def test_headline_list_escapes_the_story_headline_in_its_link(
    admin_client, make_article, make_headline
):
    story = make_article(headline="Q&A: <b>why</b> rates rose")
    headline = make_headline(article=story)

    response = admin_client.get(HEADLINES)

    cell = field_cell(response, headline, "linked_article")
    assert "Q&amp;A: &lt;b&gt;why&lt;/b&gt; rates rose</a>" in cell


def test_tag_list_shows_kind_aliases_and_story_count(
    admin_client, make_article, make_tag
):
    tag = make_tag(
        name="United States",
        slug="united-states",
        kind="place",
        aliases=["U.S.", "US"],
        short_forms=["America"],
    )
    make_article(tags=[tag])
    make_article(tags=[tag])

    response = admin_client.get(TAGS)

    assert response.status_code == 200
    assert rows(response) == [tag]
    assert ">Place<" in field_cell(response, tag, "kind")
    assert ">U.S., US, America<" in field_cell(response, tag, "alias_list")
    assert ">2<" in field_cell(response, tag, "article_count")


def test_source_document_list_shows_name_and_size(admin_client):
    document = SourceDocument.objects.create(
        name="2025/ports.txt", sha256="0" * 64, size=1234
    )

    response = admin_client.get(SOURCE_DOCUMENTS)

    assert response.status_code == 200
    assert rows(response) == [document]
    assert "2025/ports.txt" in field_cell(response, document, "name")
    assert "1234" in field_cell(response, document, "size")


def test_scheduled_article_shows_as_scheduled_for_its_time(admin_client, make_article):
    when = timezone.now() + timedelta(days=2)
    article = make_article(status=Status.PUBLISHED, published_at=when)

    response = admin_client.get(ARTICLES)

    local = timezone.localtime(when)
    assert f">Scheduled for {local:%Y-%m-%d %H:%M}<" in field_cell(
        response, article, "status_label"
    )


def test_scheduled_headline_shows_as_scheduled_for_its_time(
    admin_client, make_headline
):
    when = timezone.now() + timedelta(hours=5)
    headline = make_headline(status=Status.PUBLISHED, published_at=when)

    response = admin_client.get(HEADLINES)

    local = timezone.localtime(when)
    assert f">Scheduled for {local:%Y-%m-%d %H:%M}<" in field_cell(
        response, headline, "status_label"
    )


# Bulk actions


def test_publishing_drafts_makes_them_public_now(admin_client, make_article):
    drafts = [make_article(status=Status.DRAFT) for _ in range(2)]
    before = timezone.now()

    response = run_action(admin_client, ARTICLES, "publish_selected", drafts)

    after = timezone.now()
    assert response.status_code == 200
    assert set(Article.objects.published()) == set(drafts)
    for draft in drafts:
        draft.refresh_from_db()
        assert draft.status == Status.PUBLISHED
        assert before <= draft.published_at <= after
    assert messages(response) == ["Published 2 articles."]


def test_publishing_a_scheduled_article_keeps_its_future_time(
    admin_client, make_article
):
    when = timezone.now() + timedelta(days=3)
    scheduled = make_article(status=Status.PUBLISHED, published_at=when)
    draft = make_article(status=Status.DRAFT)

    response = run_action(
        admin_client, ARTICLES, "publish_selected", [scheduled, draft]
    )

    scheduled.refresh_from_db()
    assert scheduled.published_at == when
    assert scheduled.is_scheduled
    assert list(Article.objects.published()) == [draft]
    assert messages(response) == [
        "Published 2 articles. 1 of them go live at their scheduled time."
    ]


def test_unpublishing_articles_hides_them_from_readers(admin_client, make_article):
    withdrawn = [make_article(), make_article()]
    kept = make_article()
    times = {article.pk: article.published_at for article in withdrawn}

    response = run_action(admin_client, ARTICLES, "unpublish_selected", withdrawn)

    assert list(Article.objects.published()) == [kept]
    for article in withdrawn:
        article.refresh_from_db()
        assert article.status == Status.UNPUBLISHED
        assert article.published_at == times[article.pk]
    assert messages(response) == ["Unpublished 2 articles; readers no longer see them."]


def test_publishing_one_article_says_article_in_the_singular(
    admin_client, make_article
):
    draft = make_article(status=Status.DRAFT)

    response = run_action(admin_client, ARTICLES, "publish_selected", [draft])

    assert messages(response) == ["Published 1 article."]


def test_publishing_draft_headlines_makes_them_public(admin_client, make_headline):
    drafts = [make_headline(status=Status.DRAFT) for _ in range(3)]
    when = timezone.now() + timedelta(days=1)
    scheduled = make_headline(status=Status.PUBLISHED, published_at=when)
    before = timezone.now()

    response = run_action(
        admin_client, HEADLINES, "publish_selected", [*drafts, scheduled]
    )

    after = timezone.now()
    assert set(Headline.objects.published()) == set(drafts)
    for draft in drafts:
        draft.refresh_from_db()
        assert before <= draft.published_at <= after
    scheduled.refresh_from_db()
    assert scheduled.published_at == when
    assert messages(response) == [
        "Published 4 headlines. 1 of them go live at their scheduled time."
    ]


def test_publishing_a_headline_linked_to_a_story(
    admin_client, make_article, make_headline
):
    headline = make_headline(status=Status.DRAFT, article=make_article())

    response = run_action(admin_client, HEADLINES, "publish_selected", [headline])

    assert list(Headline.objects.published()) == [headline]
    assert messages(response) == ["Published 1 headline."]


def test_unpublishing_headlines_hides_them_from_readers(admin_client, make_headline):
    withdrawn = make_headline()
    kept = make_headline()

    response = run_action(admin_client, HEADLINES, "unpublish_selected", [withdrawn])

    assert list(Headline.objects.published()) == [kept]
    withdrawn.refresh_from_db()
    assert withdrawn.status == Status.UNPUBLISHED
    assert messages(response) == ["Unpublished 1 headline; readers no longer see them."]


def test_actions_menu_offers_publish_and_unpublish(admin_client, make_article):
    make_article()

    response = admin_client.get(ARTICLES)

    page = response.content.decode()
    assert '<option value="publish_selected">Publish selected articles</option>' in (
        page
    )
    assert (
        '<option value="unpublish_selected">Unpublish selected articles</option>'
        in page
    )


# Search and filters


def test_search_finds_articles_by_headline(admin_client, make_article):
    ports = make_article(headline="Ports reopen after the storm")
    make_article(headline="Parliament passes the budget")

    response = admin_client.get(ARTICLES, {"q": "ports reopen"})

    assert response.status_code == 200
    assert rows(response) == [ports]


def test_search_finds_headlines_by_text(admin_client, make_headline):
    storm = make_headline(text="Storm warning for the coast")
    make_headline(text="Budget passes")

    response = admin_client.get(HEADLINES, {"q": "storm"})

    assert rows(response) == [storm]


def test_status_filter_narrows_the_list_to_drafts(admin_client, make_article):
    draft = make_article(status=Status.DRAFT)
    make_article()

    response = admin_client.get(ARTICLES, {"status": "draft"})

    assert response.status_code == 200
    assert rows(response) == [draft]


def test_status_filter_link_narrows_the_list_to_drafts(admin_client, make_article):
    draft = make_article(status=Status.DRAFT)
    make_article()

    response = admin_client.get(ARTICLES, {"status__exact": "draft"})

    assert rows(response) == [draft]


def test_needs_review_filter_narrows_the_list(admin_client, make_article):
    flagged = make_article(needs_review=True)
    make_article(needs_review=False)

    response = admin_client.get(ARTICLES, {"needs_review__exact": "1"})

    assert response.status_code == 200
    assert rows(response) == [flagged]


def test_tag_filter_shows_a_story_once_however_many_tags_match(
    admin_client, make_article, make_tag
):
    china, trade = make_tag(name="China"), make_tag(name="Trade")
    story = make_article(tags=[china, trade])
    make_article(tags=[trade])

    response = admin_client.get(ARTICLES, {"tags__id__exact": china.pk})

    assert rows(response) == [story]


# Tag autocomplete


def test_tag_autocomplete_suggests_china_for_chin(admin_client, vocabulary):
    response = admin_client.get(
        AUTOCOMPLETE,
        {
            "app_label": "articles",
            "model_name": "article",
            "field_name": "tags",
            "term": "Chin",
        },
    )

    assert response.status_code == 200
    china = Tag.objects.get(name="China")
    results = response.json()["results"]
    assert {"id": str(china.pk), "text": "China"} in results
    assert "Japan" not in [result["text"] for result in results]


def test_tag_autocomplete_lists_suggestions_in_name_order(admin_client, vocabulary):
    response = admin_client.get(
        AUTOCOMPLETE,
        {
            "app_label": "articles",
            "model_name": "headline",
            "field_name": "tags",
            "term": "Korea",
        },
    )

    names = [result["text"] for result in response.json()["results"]]
    assert {"North Korea", "South Korea"} <= set(names)
    assert names == sorted(names)


# Add and change forms


def test_article_add_form_prepopulates_slug_from_headline(admin_client):
    response = admin_client.get(f"{ARTICLES}add/")

    assert response.status_code == 200
    found = re.search(
        r'id="django-admin-prepopulated-fields-constants"[^>]*'
        r'data-prepopulated-fields="([^"]*)"',
        response.content.decode(),
    )
    assert found
    fields = json.loads(html.unescape(found.group(1)))
    assert [(field["id"], field["dependency_ids"]) for field in fields] == [
        ("#id_slug", ["#id_headline"])
    ]


def test_headline_add_form_prepopulates_slug_from_text(admin_client):
    response = admin_client.get(f"{HEADLINES}add/")

    fields = response.context["adminform"].prepopulated_fields
    assert [(f["field"].name, [d.name for d in f["dependencies"]]) for f in fields] == [
        ("slug", ["text"])
    ]


def test_article_timestamps_are_shown_but_not_editable(admin_client, make_article):
    article = make_article()

    response = admin_client.get(f"{ARTICLES}{article.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert {"created_at", "updated_at"} <= set(
        response.context["adminform"].readonly_fields
    )
    assert 'name="created_at"' not in page
    assert 'name="updated_at"' not in page
    assert re.search(r'field-created_at.*?<div class="readonly">', page, re.S)


def test_adding_an_article_ignores_a_posted_creation_time(admin_client):
    before = timezone.now()

    response = admin_client.post(
        f"{ARTICLES}add/",
        {
            "headline": "Ports reopen after the storm",
            "slug": "ports-reopen",
            "body": "The ports reopened on Monday.",
            "status": Status.DRAFT,
            "created_at": "2000-01-01 00:00:00",
            "updated_at": "2000-01-01 00:00:00",
            "headlines-TOTAL_FORMS": "0",
            "headlines-INITIAL_FORMS": "0",
            "headlines-MIN_NUM_FORMS": "0",
            "headlines-MAX_NUM_FORMS": "0",
            "corrections-TOTAL_FORMS": "0",
            "corrections-INITIAL_FORMS": "0",
            "corrections-MIN_NUM_FORMS": "0",
            "corrections-MAX_NUM_FORMS": "0",
        },
    )

    assert response.status_code == 302
    article = Article.objects.get(slug="ports-reopen")
    assert article.created_at >= before
    assert article.updated_at >= before


def test_view_on_site_takes_the_editor_to_the_public_story(admin_client, make_article):
    article = make_article(slug="ports-reopen")
    content_type = ContentType.objects.get_for_model(Article)
    shortcut = f"/admin/r/{content_type.pk}/{article.pk}/"

    change_page = admin_client.get(f"{ARTICLES}{article.pk}/change/")
    response = admin_client.get(shortcut)

    assert f'href="{shortcut}"' in change_page.content.decode()
    assert response.status_code == 302
    assert response["Location"].endswith("/articles/ports-reopen/")
    assert admin_client.get(response["Location"]).status_code == 200


# Tag aliases


def tag_form(**fields):
    data = {
        "name": "Uncle Sam",
        "slug": "uncle-sam",
        "kind": "topic",
        "description": "",
        "aliases": "",
        "short_forms": "",
    }
    data.update(fields)
    return data


def test_tag_aliases_are_typed_one_per_line(admin_client):
    response = admin_client.post(
        f"{TAGS}add/",
        tag_form(name="United States", slug="united-states", aliases="U.S.\nUS\n\nUS"),
    )

    assert response.status_code == 302
    assert Tag.objects.get(slug="united-states").aliases == ["U.S.", "US"]


def test_tag_change_form_shows_aliases_one_per_line(admin_client, make_tag):
    tag = make_tag(aliases=["U.S.", "US"])

    response = admin_client.get(f"{TAGS}{tag.pk}/change/")

    assert re.search(
        r'<textarea name="aliases"[^>]*>\s*U\.S\.\nUS</textarea>',
        response.content.decode(),
    )


def test_tag_alias_used_by_another_tag_is_refused(admin_client, vocabulary):
    response = admin_client.post(f"{TAGS}add/", tag_form(aliases="Sam\nUS"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "aliases" in errors
    assert "“US” (United States)" in errors["aliases"][0]
    assert not Tag.objects.filter(slug="uncle-sam").exists()


def test_resaving_a_tag_does_not_clash_with_its_own_aliases(admin_client, vocabulary):
    tag = Tag.objects.get(name="United States")

    response = admin_client.post(
        f"{TAGS}{tag.pk}/change/",
        tag_form(
            name=tag.name,
            slug=tag.slug,
            kind=tag.kind,
            description=tag.description,
            aliases="\n".join(tag.aliases),
            short_forms="\n".join(tag.short_forms),
        ),
    )

    assert response.status_code == 302


# Query counts


def build_articles(count, make_article, make_tag, make_headline):
    for _ in range(count):
        make_article(tags=[make_tag() for _ in range(3)], needs_review=True)


def build_headlines(count, make_article, make_tag, make_headline):
    for _ in range(count):
        make_headline(article=make_article(), tags=[make_tag() for _ in range(3)])


def build_tags(count, make_article, make_tag, make_headline):
    for _ in range(count):
        make_article(tags=[make_tag(aliases=["x"]) for _ in range(3)])


def build_documents(count, make_article, make_tag, make_headline):
    for _ in range(count):
        number = SourceDocument.objects.count()
        SourceDocument.objects.create(name=f"{number}.txt", sha256="0" * 64, size=1)


@pytest.mark.parametrize(
    ("url", "build"),
    [
        (ARTICLES, build_articles),
        (HEADLINES, build_headlines),
        (TAGS, build_tags),
        (SOURCE_DOCUMENTS, build_documents),
    ],
    ids=["articles", "headlines", "tags", "source-documents"],
)
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client,
    make_article,
    make_tag,
    make_headline,
    django_assert_max_num_queries,
    url,
    build,
):
    builders = (make_article, make_tag, make_headline)
    admin_client.get(url)  # Warm the session and any per-process caches.
    build(5, *builders)
    with CaptureQueriesContext(connection) as few:
        first = admin_client.get(url)
    assert len(rows(first)) >= 5

    build(35, *builders)
    with django_assert_max_num_queries(len(few)):
        second = admin_client.get(url)

    assert second.status_code == 200
    assert len(rows(second)) >= 40


# Access


def test_non_staff_user_is_sent_to_the_login_page(client, django_user_model):
    reader = django_user_model.objects.create_user("reader", password="not-staff-1")
    client.force_login(reader)

    response = client.get(ARTICLES)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={ARTICLES}"


def test_anonymous_visitor_is_sent_to_the_login_page(client, db):
    response = client.get(ARTICLES)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
