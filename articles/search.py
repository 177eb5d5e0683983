"""
Search over public stories and headlines, ranked.

On PostgreSQL: full-text search over a search vector that a trigger keeps up
to date (headline weighted above dek above body) with a GIN index, queried
in web-search syntax ("quoted phrases", -exclusions, or). On SQLite: an FTS5
index that triggers keep up to date (ensure_sqlite_index), where every word
must start a word of the headline, dek or body, ranked by BM25 with the
same weights. Either way only public items are searched, through the one
published() rule.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, connections
from django.db.models import F, QuerySet, Value

from articles.models import Article, Headline

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CleanQuery:
    text: str
    notice: str = ""

    @property
    def terms(self) -> list[str]:
        return re.findall(r"\w+", self.text)[:MAX_TERMS]


def clean_query(raw: str | None) -> CleanQuery:
    """Tidy what a reader typed; say what was changed, never refuse outright."""
    text = " ".join(CONTROL_CHARACTERS.sub(" ", raw or "").split())
    notice = ""
    if len(text) > MAX_QUERY_LENGTH:
        text = text[:MAX_QUERY_LENGTH].rsplit(" ", 1)[0] or text[:MAX_QUERY_LENGTH]
        notice = (
            f"Your search was long, so only its first {len(text)} characters were used."
        )
    return CleanQuery(text=text, notice=notice)


# The text searched on SQLite, and how much a match in each field weighs (on
# PostgreSQL the trigger in migration 0002 weighs them the same way).
SQLITE_INDEXED = {
    Article: {"headline": 10.0, "dek": 4.0, "body": 2.0},
    Headline: {"text": 10.0},
}


def matching(queryset: QuerySet, query: CleanQuery) -> QuerySet:
    """Filter ``queryset`` (of stories or headlines) to matches, with a ``rank``."""
    if connection.vendor == "postgresql":
        search_query = SearchQuery(
            query.text, search_type="websearch", config="english"
        )
        return queryset.filter(search_vector=search_query).annotate(
            rank=SearchRank(F("search_vector"), search_query)
        )
    table = queryset.model._meta.db_table
    index = f"{table}_fts"
    weights = ", ".join(str(w) for w in SQLITE_INDEXED[queryset.model].values())
    # Each word quoted (so FTS5 reads no syntax in it) and a prefix ("harbour"
    # finds "harbours"); words side by side must all match.
    match = " ".join(f'"{term}"*' for term in query.terms)
    # A join with the index: the database reads only the matching rows, and
    # BM25 can rank them (it exists only inside such a query).
    return queryset.extra(
        tables=[index],
        where=[f"{index}.rowid = {table}.id", f"{index} MATCH %s"],
        params=[match],
        select={"rank": f"-bm25({index}, {weights})"},
    )


def ensure_sqlite_index(using: str = "default", **kwargs) -> None:
    """
    On SQLite, create the FTS5 indexes and the triggers that keep them in
    step with the stories and headlines, and fill them if they are new.

    Run after every migrate (articles/apps.py): SQLite rebuilds a table to
    alter it, which drops its triggers, so a later migration must not be
    able to switch search off unnoticed.
    """
    db = connections[using]
    if db.vendor != "sqlite":
        return
    with db.cursor() as cursor:
        for model, fields in SQLITE_INDEXED.items():
            table = model._meta.db_table
            index = f"{table}_fts"
            columns = ", ".join(fields)
            new = ", ".join(f"new.{name}" for name in fields)
            old = ", ".join(f"old.{name}" for name in fields)
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE %s",
                [f"{index}_%"],
            )
            complete = cursor.fetchone()[0] == 3
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {index} USING fts5("
                f"{columns}, content='{table}', content_rowid='id', "
                "tokenize='unicode61 remove_diacritics 2')"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {index}_insert AFTER INSERT ON "
                f"{table} BEGIN INSERT INTO {index}(rowid, {columns}) "
                f"VALUES (new.id, {new}); END"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {index}_delete AFTER DELETE ON "
                f"{table} BEGIN INSERT INTO {index}({index}, rowid, {columns}) "
                f"VALUES ('delete', old.id, {old}); END"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {index}_update AFTER UPDATE OF "
                f"{columns} ON {table} BEGIN "
                f"INSERT INTO {index}({index}, rowid, {columns}) "
                f"VALUES ('delete', old.id, {old}); "
                f"INSERT INTO {index}(rowid, {columns}) VALUES (new.id, {new}); END"
            )
            if not complete:
                cursor.execute(f"INSERT INTO {index}({index}) VALUES ('rebuild')")


def search(query: CleanQuery):
    """
    Return a sliceable, countable list of public matches, best first.

    Each match is a dict with ``kind`` ("article" or "headline"), ``pk``,
    ``rank`` and ``published_at``; load_results() turns a page of them into
    objects.
    """
    fields = ["kind", "pk", "rank", "published_at"]
    articles, headlines = (
        matching(model.objects.published(), query)
        .annotate(kind=Value(kind))
        .order_by()
        .values(*fields)
        for model, kind in ((Article, "article"), (Headline, "headline"))
    )
    return articles.union(headlines, all=True).order_by(
        "-rank", "-published_at", "kind", "-pk"
    )


def load_results(matches) -> list[Article | Headline]:
    """Turn a page of matches into stories and headlines, in the same order."""
    matches = list(matches)
    article_ids = [m["pk"] for m in matches if m["kind"] == "article"]
    headline_ids = [m["pk"] for m in matches if m["kind"] == "headline"]
    articles = (
        Article.objects.prefetch_related("tags").in_bulk(article_ids)
        if article_ids
        else {}
    )
    headlines = (
        Headline.objects.select_related("article").in_bulk(headline_ids)
        if headline_ids
        else {}
    )
    found = {"article": articles, "headline": headlines}
    return [found[m["kind"]][m["pk"]] for m in matches if m["pk"] in found[m["kind"]]]
