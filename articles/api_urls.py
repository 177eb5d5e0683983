from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from articles import viewsets

app_name = "api"

router = SimpleRouter()
router.register("articles", viewsets.ArticleViewSet, basename="article")
router.register("headlines", viewsets.HeadlineViewSet, basename="headline")
router.register("tags", viewsets.TagViewSet, basename="tag")

urlpatterns = [
    path("", viewsets.APIRootView.as_view(), name="root"),
    path("changes/", viewsets.ChangeFeedView.as_view(), name="changes"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"
    ),
    *router.urls,
    re_path(r"^.*$", viewsets.not_found),
]
