"""The synthetic archive for benchmarks: realistic, marked, removable."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from articles.models import Article, Headline, SourceDocument
from tests.conftest import SEED_DOCUMENT


@pytest.fixture
def seeded(vocabulary):
    call_command("seed", str(SEED_DOCUMENT), stdout=StringIO())


def generate(*args):
    out = StringIO()
    call_command("generate_archive", *args, stdout=out)
    return out.getvalue()


def test_generates_a_marked_archive_of_the_size_asked(seeded):
    out = generate("--articles", "120", "--headlines", "250")
    assert "Generated 120 stories and 250 headlines" in out
    generated = Article.objects.filter(slug__startswith="generated--")
    assert generated.count() == 120
    assert Headline.objects.filter(source__name="generated-archive").count() == 250
    # Mostly public, with some drafts and items in review, as in a newsroom.
    public = generated.published().count()
    assert 100 <= public < 120
    # Every story has tags, and stories read like stories.
    assert not generated.filter(tags=None).exists()
    story = generated.published().first()
    assert 1500 < len(story.body) < 8000
    assert story.body_html.startswith("<p>")


def test_the_archive_serves_on_every_page(client, seeded):
    generate("--articles", "60", "--headlines", "60")
    story = Article.objects.filter(slug__startswith="generated--").published().first()
    for url in [
        reverse("articles:front"),
        story.get_absolute_url(),
        "/api/v1/articles/",
    ]:
        assert client.get(url).status_code == 200


def test_same_seed_same_archive(seeded):
    generate("--articles", "20", "--headlines", "0", "--seed", "7")
    first = list(Article.objects.order_by("pk").values_list("headline", flat=True))
    generate("--remove")
    generate("--articles", "20", "--headlines", "0", "--seed", "7")
    again = list(Article.objects.order_by("pk").values_list("headline", flat=True))
    assert first == again


def test_remove_takes_away_the_archive_and_nothing_else(seeded):
    real = set(Article.objects.values_list("pk", flat=True))
    real_headlines = set(Headline.objects.values_list("pk", flat=True))
    generate("--articles", "50", "--headlines", "80")
    out = StringIO()
    call_command("generate_archive", "--remove", stdout=out)
    assert "Removed 50 generated stories and 80 headlines" in out.getvalue()
    assert set(Article.objects.values_list("pk", flat=True)) == real
    assert set(Headline.objects.values_list("pk", flat=True)) == real_headlines
    assert not SourceDocument.objects.filter(name="generated-archive").exists()


def test_refuses_a_second_archive_and_an_empty_vocabulary(db, seeded):
    generate("--articles", "5", "--headlines", "5")
    with pytest.raises(CommandError, match="exists already"):
        generate("--articles", "5")
    generate("--remove")
    with pytest.raises(CommandError, match="no generated archive"):
        generate("--remove")


def test_needs_the_vocabulary(db):
    with pytest.raises(CommandError, match="vocabulary is empty"):
        generate("--articles", "5")
