"""The one visibility rule: published, and not scheduled for later."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Headline, Status


@pytest.fixture
def stories(make_article):
    now = timezone.now()
    return {
        "published": make_article(headline="Out now"),
        "draft": make_article(headline="Still a draft", status=Status.DRAFT),
        "review": make_article(headline="Awaiting review", status=Status.REVIEW),
        "scheduled": make_article(
            headline="Embargoed until tomorrow", published_at=now + timedelta(days=1)
        ),
        "withdrawn": make_article(
            headline="Pulled after publication",
            status=Status.UNPUBLISHED,
            published_at=now - timedelta(days=1),
        ),
    }


def test_published_keeps_only_what_readers_may_see(stories):
    assert list(Article.objects.published()) == [stories["published"]]


def test_is_public_agrees_with_the_queryset_rule(stories):
    public = set(Article.objects.published())
    for article in stories.values():
        assert article.is_public == (article in public)


def test_scheduled_article_becomes_public_at_its_time_without_a_job(stories):
    scheduled = stories["scheduled"]
    assert scheduled.is_scheduled
    Article.objects.filter(pk=scheduled.pk).update(
        published_at=timezone.now() - timedelta(seconds=1)
    )
    assert scheduled in Article.objects.published()


def test_headlines_follow_the_same_rule(make_headline):
    public = make_headline(text="Public")
    make_headline(text="Draft", status=Status.DRAFT)
    make_headline(text="Later", published_at=timezone.now() + timedelta(hours=2))
    assert list(Headline.objects.published()) == [public]


def test_publish_sets_a_time_and_unpublish_withdraws(make_article):
    article = make_article(status=Status.DRAFT)
    assert article.published_at is None
    article.publish()
    article.refresh_from_db()
    assert article.is_public
    first_published_at = article.published_at
    article.unpublish()
    assert article not in Article.objects.published()
    article.publish()
    article.refresh_from_db()
    assert article.published_at == first_published_at  # republishing keeps its date


def test_publish_at_a_future_time_schedules(make_article):
    article = make_article(status=Status.DRAFT)
    later = timezone.now() + timedelta(hours=3)
    article.publish(at=later)
    assert article.is_scheduled
    assert article not in Article.objects.published()


@pytest.mark.parametrize("model", [Article, Headline])
def test_database_refuses_published_without_a_time(model, make_article, make_headline):
    item = make_article() if model is Article else make_headline()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=item.pk).update(published_at=None)


@pytest.mark.parametrize("kind", ["draft", "review", "scheduled", "withdrawn"])
def test_unpublished_story_page_is_not_found(client, stories, kind):
    response = client.get(stories[kind].get_absolute_url())
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        reverse("articles:front"),
        reverse("articles:headlines"),
    ],
)
def test_lists_show_only_public_items(client, stories, make_headline, url):
    make_headline(text="Draft headline never shown", status=Status.DRAFT)
    make_headline(
        text="Scheduled headline never shown",
        published_at=timezone.now() + timedelta(hours=1),
    )
    make_headline(text="Public headline shown")
    page = client.get(url).content.decode()
    for kind in ("draft", "review", "scheduled", "withdrawn"):
        assert stories[kind].headline not in page
    assert "never shown" not in page
    assert "Public headline shown" in page


def test_topic_page_shows_only_public_items(client, stories, make_tag, make_headline):
    tag = make_tag(name="Elections")
    for article in stories.values():
        article.tags.add(tag)
    make_headline(text="Draft about elections", status=Status.DRAFT, tags=[tag])
    page = client.get(tag.get_absolute_url()).content.decode()
    assert stories["published"].headline in page
    for kind in ("draft", "review", "scheduled", "withdrawn"):
        assert stories[kind].headline not in page
    assert "Draft about elections" not in page
