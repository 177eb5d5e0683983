from django.urls import path, register_converter

from articles import views
from articles.converters import UnicodeSlugConverter

register_converter(UnicodeSlugConverter, "uslug")

app_name = "articles"

urlpatterns = [
    path("", views.FrontPageView.as_view(), name="front"),
    path("articles/<uslug:slug>/", views.ArticleDetailView.as_view(), name="detail"),
    path("headlines/", views.HeadlineListView.as_view(), name="headlines"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag"),
]
