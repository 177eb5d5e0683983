"""
Search over public stories and headlines, ranked.

On PostgreSQL: full-text search over a search vector that a trigger keeps up
to date (headline weighted above dek above body) with a GIN index, queried
in web-search syntax ("quoted phrases", -exclusions, or). Elsewhere (SQLite):
every word must appear in the headline, dek or body, and matches in the
headline rank first. Either way only public items are searched, through the
one published() rule.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Cast

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
FALLBACK_FIELDS = {
    Article: {"headline": 1.0, "dek": 0.4, "body": 0.2},
    Headline: {"text": 1.0},
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
    fields = FALLBACK_FIELDS[queryset.model]
    condition = Q()
    rank = Value(0.0)
    for term in query.terms:
        any_field = Q()
        for field, weight in fields.items():
            any_field |= Q(**{f"{field}__icontains": term})
            rank += Case(
                When(**{f"{field}__icontains": term}, then=Value(weight)),
                default=Value(0.0),
                output_field=FloatField(),
            )
        condition &= any_field
    return queryset.filter(condition).annotate(rank=Cast(rank, FloatField()))


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
