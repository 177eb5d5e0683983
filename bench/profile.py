"""
Where an uncached request's time goes, in one process (no HTTP, no load):
the whole request through Django's test client, the part spent in the
database driver running the captured SQL, and the part spent rendering from
objects already in memory. What is left is Django building queries and
model instances.

    DATABASE_URL=sqlite:///bench/bench-1000.sqlite3 .venv/bin/python bench/profile.py

Run it against a database bench/run.py prepared (cache off, DEBUG off).
"""

import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "x" * 40)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("NEWSROOM_API_ANON_RATE", "100000000/second")
os.environ.setdefault("NEWSROOM_API_USER_RATE", "100000000/second")
os.environ["NEWSROOM_PAGE_CACHE"] = "false"
django.setup()

from django.db import connection  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from articles.models import Article  # noqa: E402
from articles.serializers import ArticleSerializer  # noqa: E402
from articles.views import ArticleDetailView, FrontPageView  # noqa: E402
from articles.viewsets import ArticleViewSet  # noqa: E402

ROUNDS = 200


def per_call(function) -> float:
    """Milliseconds a call, after a warm-up."""
    for _ in range(10):
        function()
    started = time.perf_counter()
    for _ in range(ROUNDS):
        function()
    return (time.perf_counter() - started) / ROUNDS * 1000


def sql_time(path: str, client: Client) -> tuple[int, float]:
    """The captured queries of one request, replayed straight to the driver."""
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    statements = [query["sql"] for query in captured.captured_queries]

    def replay():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    return len(statements), per_call(replay)


def main():
    client = Client(HTTP_HOST="127.0.0.1")
    factory = RequestFactory(HTTP_HOST="127.0.0.1")
    # A typical generated story (the newest is the seeded one).
    story = Article.objects.published().order_by("-published_at")[1]

    def story_context():
        request = factory.get(story.get_absolute_url())
        view = ArticleDetailView()
        view.setup(request, slug=story.slug)
        view.object = view.get_object()
        context = view.get_context_data(object=view.object)
        context["related"] = list(context["related"])
        return request, context

    def front_context():
        request = factory.get("/")
        view = FrontPageView()
        view.setup(request)
        context = view.get_context_data()
        context["headlines"] = list(context["headlines"])
        return request, context

    def api_list():
        request = factory.get("/api/v1/articles/")
        view = ArticleViewSet(action_map={"get": "list"}, format_kwarg=None)
        view.args, view.kwargs = (), {}
        view.request = view.initialize_request(request)
        return view.request, list(view.get_queryset()[:20])

    rows = []
    for name, path, build, template in (
        ("story page", story.get_absolute_url(), story_context,
         "articles/article_detail.html"),
        ("front page", "/", front_context, "articles/front_page.html"),
        ("API article list (20)", "/api/v1/articles/", api_list, None),
    ):  # fmt: skip
        whole = per_call(lambda path=path: client.get(path))
        queries, in_driver = sql_time(path, client)
        request, built = build()
        loading = per_call(build)
        if template:
            output = per_call(lambda: render(request, template, built))
        else:
            context = {"request": request}
            output = per_call(
                lambda: ArticleSerializer(built, many=True, context=context).data
            )
        rows.append((name, whole, queries, in_driver, loading, output))

    sys.stdout.write(
        f"{connection.vendor}, {Article.objects.count():,} stories, "
        f"{ROUNDS} rounds each, milliseconds a request\n\n"
        "| request | whole request | queries | SQL in the driver | loading "
        "(queries + ORM) | rendering from memory | the rest |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    for name, whole, queries, in_driver, loading, output in rows:
        sys.stdout.write(
            f"| {name} | {whole:.2f} | {queries} | {in_driver:.2f} | "
            f"{loading:.2f} | {output:.2f} | {whole - loading - output:.2f} |\n"
        )


if __name__ == "__main__":
    main()
