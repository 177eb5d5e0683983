"""The benchmark's ceiling views: only under the benchmark's settings."""

import importlib

import pytest
from django.urls import clear_url_caches

import newsroom.urls


@pytest.fixture
def benchmark_urls(settings):
    settings.NEWSROOM_BENCHMARK = True
    clear_url_caches()
    importlib.reload(newsroom.urls)
    yield
    settings.NEWSROOM_BENCHMARK = False
    clear_url_caches()
    importlib.reload(newsroom.urls)


def test_ceiling_views_do_not_exist_in_a_normal_deployment(client, db):
    for url in ["/bench/constant/", "/bench/story/", "/bench/api-articles/"]:
        assert client.get(url).status_code == 404


def test_ceiling_views_serve_without_the_database(
    benchmark_urls, client, db, django_assert_num_queries
):
    with django_assert_num_queries(0):
        constant = client.get("/bench/constant/")
        story = client.get("/bench/story/")
        api = client.get("/bench/api-articles/")
    assert 19_000 < len(constant.content) < 22_000
    assert story.status_code == 200
    assert "Ceiling story number 1" in story.content.decode()
    assert len(api.json()["results"]) == 20
