from collections import Counter

from django.core.paginator import EmptyPage, Paginator
from django.db.models import Case, Prefetch, Value, When
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views import defaults
from django.views.generic import DetailView, ListView, MonthArchiveView, TemplateView

from articles.freshness import public
from articles.models import Article, Correction, Headline, Tag, TagKind, public_q
from articles.search import clean_query, load_results, search

FRONT_PAGE_FEATURED = 3
FRONT_PAGE_STORIES = 12
FRONT_PAGE_HEADLINES = 10
FRONT_PAGE_TOPICS = 12
RELATED_STORIES = 4
# What a list that only names and links its stories need not load.
HEAVY_ARTICLE_FIELDS = ["body", "body_html", "search_vector", "source_digests"]


def page_number(request, param: str) -> int:
    try:
        number = int(request.GET.get(param) or 1)
    except ValueError:
        raise Http404(f"“{param}” is not a page number.") from None
    if number < 1:
        raise Http404(f"There is no page {number}.")
    return number


def paginate(request, queryset, per_page, *, param="page"):
    """Return the page ``?page=`` asks for; a page that does not exist is a 404."""
    paginator = Paginator(queryset, per_page)
    try:
        return paginator.page(page_number(request, param))
    except EmptyPage as error:
        raise Http404(str(error)) from error


class Window:
    """
    One page of a list that grows with the archive, told from the next by
    loading one item more: counting a topic's stories to number its pages
    took 0.34 s at 100,000 stories, for a "Page 1 of 1,925" nobody needs.
    """

    paginator = None  # no count, so no "of N" either

    def __init__(self, items: list, number: int, per_page: int):
        self.object_list = items[:per_page]
        self.number = number
        self._more = len(items) > per_page

    def has_next(self) -> bool:
        return self._more

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def window(request, queryset, per_page, *, param="page") -> Window:
    """Return the page ``?page=`` asks for, without counting; past the end, a 404."""
    number = page_number(request, param)
    start = (number - 1) * per_page
    page = Window(list(queryset[start : start + per_page + 1]), number, per_page)
    if number > 1 and not page.object_list:
        raise Http404(f"There is no page {number}.")
    return page


def public_articles():
    return (
        Article.objects.published()
        .for_reading()
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.as_refs()))
    )


def public_headlines():
    return Headline.objects.published().select_related("article")


@method_decorator(public(), name="dispatch")
class FrontPageView(TemplateView):
    template_name = "articles/front_page.html"

    def get_context_data(self, **kwargs):
        # One query for both lists: the newest featured stories and the
        # newest stories, told apart in Python.
        featured_ids = (
            Article.objects.published()
            .filter(featured=True)
            .values("pk")[:FRONT_PAGE_FEATURED]
        )
        latest_ids = Article.objects.published().values("pk")[:FRONT_PAGE_STORIES]
        # The two lists' ids in a UNION: an OR of two IN (…) made PostgreSQL
        # read the whole archive (20 front pages a second at 100,000 stories).
        ids = (
            Article.objects.filter(pk__in=featured_ids)
            .order_by()
            .values("pk")
            .union(
                Article.objects.filter(pk__in=latest_ids).order_by().values("pk"),
                all=True,
            )
        )
        stories = list(public_articles().filter(pk__in=ids))
        featured = [story for story in stories if story.featured][:FRONT_PAGE_FEATURED]
        latest = [story for story in stories if story not in featured]
        latest = latest[:FRONT_PAGE_STORIES]
        return super().get_context_data(
            featured=featured,
            latest=latest,
            headlines=public_headlines()[:FRONT_PAGE_HEADLINES],
            topics=topics_in_the_news(featured + latest),
            **kwargs,
        )


def topics_in_the_news(stories: list[Article]) -> list[Tag]:
    """
    The topics of the stories on a page, the most shared first: what is in
    the news now, from tags already loaded (a count over the whole archive
    would cost more as the archive grows, and say less).
    """
    counts = Counter(tag for story in stories for tag in story.tags.all())
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].name))
    return [tag for tag, _ in ranked[:FRONT_PAGE_TOPICS]]


def story_queryset(queryset):
    """Add what a story page shows to ``queryset`` (public stories, or any)."""
    return queryset.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.as_refs()),
        Prefetch(
            "headlines",
            queryset=Headline.objects.published().for_reading(),
            to_attr="public_headlines",
        ),
        "corrections",
    )


@method_decorator(public(), name="dispatch")
class ArticleDetailView(DetailView):
    def get_queryset(self):
        return story_queryset(Article.objects.published().for_reading())

    def get_context_data(self, **kwargs):
        tags = list(self.object.tags.all())
        related = (
            Article.objects.published()
            .tagged(tags)
            .exclude(pk=self.object.pk)[:RELATED_STORIES]
            if tags
            else []
        )
        return super().get_context_data(related=related, **kwargs)


@method_decorator(public(), name="dispatch")
class HeadlineListView(ListView):
    context_object_name = "headline_list"
    per_page = 50

    def get_queryset(self):
        return public_headlines()

    def get_context_data(self, **kwargs):
        page = window(self.request, self.object_list, self.per_page)
        return super().get_context_data(
            page_obj=page,
            is_paginated=page.has_other_pages(),
            object_list=page.object_list,
            **kwargs,
        )


@method_decorator(public(), name="dispatch")
class TagListView(ListView):
    template_name = "articles/tag_list.html"
    context_object_name = "tags"

    def get_queryset(self):
        kinds = [When(kind=kind, then=Value(rank)) for rank, kind in enumerate(TagKind)]
        return Tag.objects.in_use().order_by(Case(*kinds), "name")


@method_decorator(public(), name="dispatch")
class TagDetailView(DetailView):
    model = Tag
    paginate_by = 20

    def get_object(self, queryset=None):
        return get_object_or_404(Tag, slug=self.kwargs["slug"])

    def get_context_data(self, **kwargs):
        stories = window(
            self.request, public_articles().tagged([self.object]), self.paginate_by
        )
        headlines = window(
            self.request,
            public_headlines().tagged([self.object]),
            self.paginate_by,
            param="headlines_page",
        )
        return super().get_context_data(
            page_obj=stories,
            articles=stories.object_list,
            headlines_page=headlines,
            headlines=headlines.object_list,
            **kwargs,
        )


@method_decorator(public(), name="dispatch")
class CorrectionListView(ListView):
    """Every correction to a public story, newest first."""

    paginate_by = 20

    def get_queryset(self):
        return (
            Correction.objects.filter(public_q("article__"))
            .select_related("article")
            .defer(*(f"article__{name}" for name in HEAVY_ARTICLE_FIELDS))
            .order_by("-created_at", "-pk")
        )


@method_decorator(public(), name="dispatch")
class ArchiveMonthView(MonthArchiveView):
    date_field = "published_at"
    month_format = "%m"
    paginate_by = 20
    allow_empty = False
    template_name = "articles/archive_month.html"
    context_object_name = "articles"

    def get_queryset(self):
        return public_articles()


@method_decorator(public(), name="dispatch")
class SearchView(TemplateView):
    template_name = "articles/search.html"
    paginate_by = 20

    def get_context_data(self, **kwargs):
        query = clean_query(self.request.GET.get("q"))
        context = super().get_context_data(query=query, **kwargs)
        if query.terms:
            page = paginate(self.request, search(query), self.paginate_by)
            context.update(page_obj=page, results=load_results(page.object_list))
        return context


def server_error(request):
    """A 500 in the site's design, or as JSON under the API."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "status": 500,
                    "code": "server_error",
                    "message": "Something went wrong on our side; it has been logged.",
                }
            },
            status=500,
        )
    return defaults.server_error(request)
