from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.cache import patch_cache_control

from articles import previews
from articles.freshness import public
from articles.sitemaps import (
    NewsSitemap,
    PageSitemap,
    StorySitemap,
    TopicSitemap,
    news_last_changed,
    robots_txt,
    sitemap_last_changed,
)
from newsroom.health import healthz


def favicon(request):
    """
    Send browsers that ask for /favicon.ico (the admin's pages name no icon)
    to the site's icon, whose hashed name changes with it: so not for ever.
    """
    response = HttpResponseRedirect(static("favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


admin.site.site_header = "Newsroom"
admin.site.site_title = "Newsroom admin"
admin.site.index_title = "Editorial desk"

sitemaps = {"stories": StorySitemap, "topics": TopicSitemap, "pages": PageSitemap}

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("articles.api_urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("robots.txt", robots_txt, name="robots"),
    path(
        "sitemap.xml",
        public(last_changed=sitemap_last_changed)(sitemap_views.index),
        {"sitemaps": sitemaps, "sitemap_url_name": "sitemap-section"},
        name="sitemap",
    ),
    # Before the sections, whose pattern would match it too.
    path(
        "sitemap-news.xml",
        public(last_changed=news_last_changed)(sitemap_views.sitemap),
        {"sitemaps": {"news": NewsSitemap}, "template_name": "sitemaps/news.xml"},
        name="sitemap-news",
    ),
    path(
        "sitemap-<slug:section>.xml",
        public(last_changed=sitemap_last_changed)(sitemap_views.sitemap),
        {"sitemaps": sitemaps, "template_name": "sitemaps/sitemap.xml"},
        name="sitemap-section",
    ),
    path("preview/<str:token>/", previews.preview, name="preview"),
    path("", include("articles.urls")),
]

if settings.NEWSROOM_BENCHMARK:
    from articles import benchmarks

    urlpatterns = [
        path("bench/constant/", benchmarks.constant),
        path("bench/story/", benchmarks.story),
        path("bench/api-articles/", benchmarks.api_articles),
        *urlpatterns,
    ]

handler500 = "articles.views.server_error"
