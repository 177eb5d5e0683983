"""Slugs: readable, unique, safe for any script."""

import pytest
from django.db import IntegrityError, transaction

from articles.models import Article, Headline
from articles.slugs import slug_from_text, unique_slug


@pytest.mark.parametrize(
    "text, slug",
    [
        (
            "Trump Lifts 25% Tariff on Indian Goods",
            "trump-lifts-25-tariff-on-indian-goods",
        ),
        (
            "Trump Says “Very Good Talks” Underway",
            "trump-says-very-good-talks-underway",
        ),
        ("Strategic U.S.–India Trade", "strategic-us-india-trade"),
        ("Café au lait", "cafe-au-lait"),
        ("习近平会见李在明", "习近平会见李在明"),
        ("Xi meets 李在明", "xi-meets-李在明"),
        ("«»!!! ???", "story"),
    ],
)
def test_slug_from_text(text, slug):
    assert slug_from_text(text, max_length=200, fallback="story") == slug


def test_long_slug_is_cut_between_words():
    slug = slug_from_text("word " * 100, max_length=50, fallback="story")
    assert len(slug) <= 50
    assert slug.endswith("word")


@pytest.mark.django_db
def test_taken_slug_gets_the_first_free_suffix(make_article):
    make_article(headline="Same", slug="same")
    make_article(headline="Same", slug="same-2")
    assert unique_slug(Article, "Same", fallback="story") == "same-3"


@pytest.mark.django_db
def test_slug_prefix_of_another_is_not_a_collision(make_article):
    make_article(slug="trade-war-escalates")
    assert unique_slug(Article, "Trade war", fallback="story") == "trade-war"


@pytest.mark.django_db
def test_editing_an_item_keeps_its_own_slug_free(make_headline):
    headline = make_headline(text="Same", slug="same")
    assert unique_slug(Headline, "Same", fallback="h", exclude_pk=headline.pk) == "same"


@pytest.mark.django_db
def test_unique_slug_fits_the_field(make_article):
    long_text = "Extraordinarily " * 40
    slug = unique_slug(Article, long_text, fallback="story")
    make_article(slug=slug)
    second = unique_slug(Article, long_text, fallback="story")
    assert second == f"{slug}-2"
    assert len(second) <= Article._meta.get_field("slug").max_length


@pytest.mark.django_db
def test_database_refuses_a_duplicate_slug(make_article):
    make_article(slug="only-once")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_article(slug="only-once")


@pytest.mark.django_db
def test_a_story_created_without_a_slug_gets_one_from_its_headline():
    first = Article.objects.create(headline="Harbour reopens", body="x")
    second = Article.objects.create(headline="Harbour reopens", body="y")
    assert (first.slug, second.slug) == ("harbour-reopens", "harbour-reopens-2")


@pytest.mark.django_db
def test_a_headline_created_without_a_slug_gets_one_from_its_text():
    headline = Headline.objects.create(text="Ferry strike called off")
    assert headline.slug == "ferry-strike-called-off"
