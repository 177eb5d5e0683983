"""
Ceiling views for the benchmark (bench/): what this stack serves when the
database is out of the picture, to measure the real pages against.

They exist only when NEWSROOM_BENCHMARK is on (newsroom/urls.py), never in a
normal deployment.
"""

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from articles.models import Article, Status, Tag
from articles.serializers import ArticleSerializer

CONSTANT = ("<p>" + "Newsroom ceiling. " * 18 + "</p>\n") * 60  # about 20 KB


def constant(request):
    """The ceiling of the stack: a fixed response of about 20 KB."""
    return HttpResponse(CONSTANT)


# Shaped like a typical story of the generated archive (the one the benchmark
# reads): nine paragraphs, about 4,900 characters, three tags, four related
# stories. A ceiling with less on the page would flatter nothing but itself.
PARAGRAPHS = 9
TAGS = ["China", "South Korea", "Trade"]
RELATED = 4


def _story(number: int) -> Article:
    """An in-memory story, shaped like a generated one, that needs no query."""
    now = timezone.now()
    paragraphs = [
        "Chinese President Xi Jinping is set to host South Korean President Lee "
        "Jae Myung on a state visit beginning Sunday, highlighting Beijing’s "
        "strategic push to strengthen relations with Seoul as trade talks "
        "resume and both governments weigh new export rules, officials said on "
        "Friday, adding that ministers would meet on the sidelines of the "
        "summit to discuss supply chains, shipping and investment in the "
        "region, where tensions over tariffs have grown this year (paragraph "
        f"{n})."
        for n in range(PARAGRAPHS)
    ]
    article = Article(
        pk=number,
        headline=f"Ceiling story number {number} on a state visit beginning Sunday",
        slug=f"ceiling-story-{number}",
        dek="An in-memory story that renders the real template with no database.",
        body="\n\n".join(paragraphs),
        body_html="\n".join(f"<p>{p}</p>" for p in paragraphs),
        byline="Benchmark desk",
        status=Status.PUBLISHED,
        published_at=now - timedelta(hours=number),
        created_at=now - timedelta(hours=number),
        updated_at=now - timedelta(hours=number),
    )
    tags = [
        Tag(pk=index, name=name, slug=name.lower().replace(" ", "-"), kind="place")
        for index, name in enumerate(TAGS, 1)
    ]
    article._prefetched_objects_cache = {"tags": tags, "corrections": []}
    article.public_headlines = []
    article.visible_headlines = []
    return article


def story(request):
    """The story template rendered from in-memory stories: a page's ceiling."""
    article = _story(1)
    related = [_story(number) for number in range(2, 2 + RELATED)]
    return render(
        request,
        "articles/article_detail.html",
        {"article": article, "object": article, "related": related},
    )


@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([])
def api_articles(request):
    """The article serializer over 20 in-memory stories: the API's ceiling."""
    stories = [_story(number) for number in range(1, 21)]
    data = ArticleSerializer(stories, many=True, context={"request": request}).data
    return Response({"next": None, "previous": None, "results": data})
