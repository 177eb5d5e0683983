from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, ListView, TemplateView

from articles.models import Article, Headline, Tag

FRONT_PAGE_STORIES = 12
FRONT_PAGE_HEADLINES = 10


def public_articles():
    return Article.objects.published().prefetch_related("tags")


def public_headlines():
    return Headline.objects.published().select_related("article")


class FrontPageView(TemplateView):
    template_name = "articles/front_page.html"

    def get_context_data(self, **kwargs):
        stories = list(public_articles()[:FRONT_PAGE_STORIES])
        featured = [story for story in stories if story.featured][:3]
        return super().get_context_data(
            featured=featured,
            latest=[story for story in stories if story not in featured],
            headlines=public_headlines()[:FRONT_PAGE_HEADLINES],
            **kwargs,
        )


class ArticleDetailView(DetailView):
    def get_queryset(self):
        return public_articles().prefetch_related(
            Prefetch("headlines", queryset=Headline.objects.published())
        )


class HeadlineListView(ListView):
    paginate_by = 50

    def get_queryset(self):
        return public_headlines()


class TagDetailView(DetailView):
    model = Tag

    def get_object(self, queryset=None):
        return get_object_or_404(Tag, slug=self.kwargs["slug"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            articles=public_articles().filter(tags=self.object)[:50],
            headlines=public_headlines().filter(tags=self.object)[:50],
            **kwargs,
        )
