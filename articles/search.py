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
from django.db.models import Case, F, FloatField, Q, Value, When
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


def search(query: CleanQuery):
    """
    Return a sliceable, countable list of matches, best first.

    Each match is a dict with ``kind`` ("article" or "headline"), ``pk``,
    ``rank`` and ``published_at``; load_results() turns a page of them into
    objects.
    """
    if not query.terms:
        return Article.objects.none().values("pk")
    if connection.vendor == "postgresql":
        articles, headlines = _postgresql(query)
    else:
        articles, headlines = _fallback(query)
    fields = ["kind", "pk", "rank", "published_at"]
    return (
        articles.order_by()
        .values(*fields)
        .union(headlines.order_by().values(*fields), all=True)
        .order_by("-rank", "-published_at", "kind", "-pk")
    )


def _postgresql(query: CleanQuery):
    search_query = SearchQuery(query.text, search_type="websearch", config="english")
    rank = SearchRank(F("search_vector"), search_query)
    return tuple(
        model.objects.published()
        .filter(search_vector=search_query)
        .annotate(kind=Value(kind), rank=rank)
        for model, kind in ((Article, "article"), (Headline, "headline"))
    )


def _fallback(query: CleanQuery):
    def score(fields: dict[str, float]):
        total = Value(0.0)
        for term in query.terms:
            total += Case(
                *(
                    When(**{f"{field}__icontains": term}, then=Value(weight))
                    for field, weight in fields.items()
                ),
                default=Value(0.0),
                output_field=FloatField(),
            )
        return Cast(total, FloatField())

    def matching(fields):
        condition = Q()
        for term in query.terms:
            any_field = Q()
            for field in fields:
                any_field |= Q(**{f"{field}__icontains": term})
            condition &= any_field
        return condition

    article_fields = {"headline": 1.0, "dek": 0.4, "body": 0.2}
    articles = (
        Article.objects.published()
        .filter(matching(article_fields))
        .annotate(kind=Value("article"), rank=score(article_fields))
    )
    headline_fields = {"text": 1.0}
    headlines = (
        Headline.objects.published()
        .filter(matching(headline_fields))
        .annotate(kind=Value("headline"), rank=score(headline_fields))
    )
    return articles, headlines


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
