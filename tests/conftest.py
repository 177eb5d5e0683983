import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from articles.models import Article, Headline, Status, Tag

# The browser tests' fixtures (Chromium through Playwright).
pytest_plugins = ["tests.browser_support"]

SEED_DOCUMENT = Path(settings.BASE_DIR) / "seeds" / "000_9a6e1edd6747009c.txt"


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    """
    Tests read what they just wrote, often with writes no signal announces;
    the server's page cache (on whenever REDIS_URL is set) is tested on its
    own, in test_page_cache.py and test_two_instances.py.
    """
    settings.NEWSROOM_PAGE_CACHE = False


@pytest.fixture(autouse=True)
def fresh_cache():
    """
    Start and end each test with an empty cache: the API's throttles count
    requests there, and the page cache keeps pages there, both outliving a
    test otherwise.
    """
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(db):
    """A client of the JSON API, anonymous until given credentials."""
    return APIClient()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """
    Hash passwords cheaply: the real hasher takes a quarter of a second a
    password on purpose, and the tests make and check hundreds of them.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def vocabulary(db):
    """Load the controlled tag vocabulary that ships in fixtures/."""
    call_command("loaddata", "tags", verbosity=0)
    return Tag.objects.all()


@pytest.fixture
def make_article(db):
    """Build articles: published an hour ago unless told otherwise."""
    counter = iter(range(1, 1_000_000))

    def make(**fields):
        number = next(counter)
        tags = fields.pop("tags", [])
        fields.setdefault("headline", f"Story number {number}")
        fields.setdefault("slug", f"story-{number}")
        fields.setdefault("body", f"Body of story {number}.")
        fields.setdefault("status", Status.PUBLISHED)
        if fields["status"] == Status.PUBLISHED:
            fields.setdefault("published_at", timezone.now() - timedelta(hours=1))
        article = Article.objects.create(**fields)
        if tags:
            article.tags.set(tags)
            article.refresh_from_db()  # setting tags moved updated_at
        return article

    return make


@pytest.fixture
def make_headline(db):
    """Build headlines: published an hour ago unless told otherwise."""
    counter = iter(range(1, 1_000_000))

    def make(**fields):
        number = next(counter)
        tags = fields.pop("tags", [])
        fields.setdefault("text", f"Headline number {number}")
        fields.setdefault("slug", f"headline-{number}")
        fields.setdefault("status", Status.PUBLISHED)
        if fields["status"] == Status.PUBLISHED:
            fields.setdefault("published_at", timezone.now() - timedelta(hours=1))
        headline = Headline.objects.create(**fields)
        if tags:
            headline.tags.set(tags)
            headline.refresh_from_db()  # setting tags moved updated_at
        return headline

    return make


@pytest.fixture
def make_tag(db):
    counter = iter(range(1, 1_000_000))

    def make(**fields):
        number = next(counter)
        fields.setdefault("name", f"Topic {number}")
        fields.setdefault("slug", f"topic-{number}")
        return Tag.objects.create(**fields)

    return make


@pytest.fixture
def seed_folder(tmp_path):
    """A folder holding a copy of the real seed document, free to edit."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(SEED_DOCUMENT, folder / SEED_DOCUMENT.name)
    return folder
