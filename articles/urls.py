from django.urls import path, re_path, register_converter

from articles import feeds, views
from articles.converters import UnicodeSlugConverter

register_converter(UnicodeSlugConverter, "uslug")

app_name = "articles"

urlpatterns = [
    path("", views.FrontPageView.as_view(), name="front"),
    path("articles/<uslug:slug>/", views.ArticleDetailView.as_view(), name="detail"),
    path("headlines/", views.HeadlineListView.as_view(), name="headlines"),
    path("tags/", views.TagListView.as_view(), name="tags"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("corrections/", views.CorrectionListView.as_view(), name="corrections"),
    re_path(
        r"^archive/(?P<year>[0-9]{4})/(?P<month>[0-9]{2})/$",
        views.ArchiveMonthView.as_view(),
        name="archive",
    ),
    path("feeds/latest.rss", feeds.LatestStoriesFeed(), name="feed-rss"),
    path("feeds/latest.atom", feeds.LatestStoriesAtomFeed(), name="feed-atom"),
    path("feeds/latest.json", feeds.LatestStoriesJsonFeed(), name="feed-json"),
    path("feeds/tags/<uslug:slug>.rss", feeds.LatestStoriesFeed(), name="tag-feed-rss"),
    path(
        "feeds/tags/<uslug:slug>.atom",
        feeds.LatestStoriesAtomFeed(),
        name="tag-feed-atom",
    ),
    path(
        "feeds/tags/<uslug:slug>.json",
        feeds.LatestStoriesJsonFeed(),
        name="tag-feed-json",
    ),
]
