"""The reader's pages served by the foundation: front page, story, headlines, topic."""

from django.urls import reverse

from articles.models import Article


def test_story_page_shows_the_story_with_its_rendered_body(
    client, make_article, make_tag
):
    tag = make_tag(name="Trade")
    article = make_article(
        headline="Tariffs lifted",
        dek="A deal at last.",
        byline="A. Reporter",
        body="First *paragraph*.\n\n<script>alert(1)</script>Second.",
        tags=[tag],
    )
    response = client.get(article.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in page and page.count("<h1") == 1
    assert "Tariffs lifted" in page
    assert "A deal at last." in page
    assert "<em>paragraph</em>" in page
    assert "<script>alert" not in page
    assert tag.get_absolute_url() in page


def test_unicode_slug_resolves(client, make_article):
    article = make_article(headline="习近平会见李在明", slug="习近平会见李在明")
    assert client.get(article.get_absolute_url()).status_code == 200


def test_front_page_leads_with_featured_stories(client, make_article, make_headline):
    make_article(headline="Ordinary story")
    make_article(headline="Featured story", featured=True)
    make_headline(text="A wire headline")
    page = client.get(reverse("articles:front")).content.decode()
    assert page.index("Featured story") < page.index("Ordinary story")
    assert "A wire headline" in page


def test_headline_linked_to_a_story_links_to_its_page(
    client, make_article, make_headline
):
    article = make_article(headline="The full story")
    make_headline(text="Short version", article=article)
    page = client.get(reverse("articles:headlines")).content.decode()
    assert f'href="{article.get_absolute_url()}"' in page


def test_headlines_page_paginates(client, make_headline):
    for _ in range(55):
        make_headline()
    first = client.get(reverse("articles:headlines"))
    second = client.get(reverse("articles:headlines"), {"page": 2})
    assert len(first.context["headline_list"]) == 50
    assert len(second.context["headline_list"]) == 5


def test_pages_use_a_fixed_number_of_queries(
    client, make_article, make_headline, make_tag, django_assert_max_num_queries
):
    tags = [make_tag() for _ in range(10)]
    for number in range(30):
        article = make_article(tags=tags[number % 10 : number % 10 + 4])
        make_headline(article=article, tags=tags[:3])
    story = Article.objects.first()
    for url in [
        reverse("articles:front"),
        story.get_absolute_url(),
        reverse("articles:headlines"),
        tags[0].get_absolute_url(),
    ]:
        with django_assert_max_num_queries(6):
            assert client.get(url).status_code == 200


def test_missing_page_uses_the_site_design(client, db):
    response = client.get("/articles/no-such-story/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
