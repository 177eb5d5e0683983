"""
SQLite's search index (FTS5, articles/search.py): triggers keep it in step
with every edit and delete, and a migration that drops them (SQLite rebuilds
a table to alter it) cannot switch search off: the next migrate restores
them and refills the index.
"""

import pytest
from django.db import connection
from django.urls import reverse

from articles.search import ensure_sqlite_index

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the FTS5 index exists on SQLite only"
)


def found(client, words: str) -> list[str]:
    response = client.get(reverse("articles:search"), {"q": words})
    return [
        getattr(item, "headline", None) or item.text
        for item in response.context.get("results", [])
    ]


def test_an_edit_moves_a_story_in_the_index(client, make_article):
    story = make_article(headline="Harbour reopens", body="Cranes restart.")
    assert found(client, "cranes") == ["Harbour reopens"]
    story.body = "Ferries sail again."
    story.save()
    assert found(client, "cranes") == []
    assert found(client, "ferries") == ["Harbour reopens"]


def test_a_deleted_story_leaves_the_index(client, make_article):
    story = make_article(headline="Harbour reopens")
    story.delete()
    assert found(client, "harbour") == []


def test_words_match_by_their_start_and_accents_do_not_matter(
    client, make_article, make_headline
):
    make_article(headline="Harbours reopen in Québec")
    make_headline(text="Quebec ferries resume")
    assert found(client, "harbour") == ["Harbours reopen in Québec"]
    assert sorted(found(client, "quebec")) == [
        "Harbours reopen in Québec",
        "Quebec ferries resume",
    ]


def test_lost_triggers_come_back_with_the_index_refilled(client, make_article):
    make_article(headline="Harbour reopens")
    with connection.cursor() as cursor:
        for name in ("insert", "delete", "update"):
            cursor.execute(f"DROP TRIGGER articles_article_fts_{name}")
        cursor.execute("DELETE FROM articles_article_fts")  # as if never filled
    make_article(headline="Harbour strike ends")  # written while they were gone
    ensure_sqlite_index()
    assert sorted(found(client, "harbour")) == [
        "Harbour reopens",
        "Harbour strike ends",
    ]
    make_article(headline="Harbour dredging starts")
    assert len(found(client, "harbour")) == 3
