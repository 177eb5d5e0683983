from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import transaction
from django.db.models import Prefetch
from django.http import JsonResponse, UnreadablePostError
from django.urls import reverse
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from articles.changes import InvalidCursor, Position, changes_since
from articles.filters import (
    ArticleFilter,
    HeadlineFilter,
    StrictOrderingFilter,
    TagFilter,
)
from articles.freshness import max_age, site_freshness
from articles.models import Article, Headline, Tag
from articles.pagination import SlugCursorPagination
from articles.permissions import is_editor
from articles.serializers import (
    ArticleSerializer,
    ArticleWriteSerializer,
    HeadlineSerializer,
    HeadlineWriteSerializer,
    TagSerializer,
)
from articles.workflow import (
    TransitionNotAllowed,
    can_edit,
    can_publish,
    move_to,
    perform,
)

CHANGES_LIMIT = 100
CHANGES_MAX_LIMIT = 500
MAX_VERSION_DIGITS = 18


# Errors: one shape for all of them.

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "status": serializers.IntegerField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="For 400: what is wrong with each parameter or field.",
                ),
            },
        )
    },
)
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A parameter or field is wrong."),
    404: OpenApiResponse(ErrorSerializer, description="No such item (or not public)."),
    429: OpenApiResponse(
        ErrorSerializer, description="Too many requests; see Retry-After."
    ),
}
WRITE_ERRORS = {
    **ERRORS,
    401: OpenApiResponse(ErrorSerializer, description="No or a bad token."),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed to edit."),
    409: OpenApiResponse(
        ErrorSerializer, description="Someone else saved it since your version."
    ),
}


def error_body(status_code: int, code: str, message: str, fields=None) -> dict:
    error = {"status": status_code, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def exception_handler(exc, context):
    """Answer every API error with the same JSON shape (see ``Error``)."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                413, "too_large", "The request body is too large (1 MB at most)."
            ),
            status=413,
        )
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return Response(
            error_body(
                400, "too_many_fields", f"Too many parameters ({limit} at most)."
            ),
            status=400,
        )
    if isinstance(exc, UnreadablePostError):
        return Response(
            error_body(
                400,
                "incomplete_body",
                "The request body ended before its Content-Length.",
            ),
            status=400,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
        names = ", ".join(name for name in fields if name) or "the request"
        response.data = error_body(
            response.status_code, "invalid", f"Not valid: {names}.", fields
        )
    else:
        detail = (
            response.data.get("detail", "") if isinstance(response.data, dict) else ""
        )
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(response.status_code, code, str(detail))
    return response


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"
    default_detail = (
        "Send the body with a Content-Length header; a chunked body is not read."
    )


@csrf_exempt  # whatever the method: a 404, not the CSRF failure page
def not_found(request, *args, **kwargs):
    """Any other address under the API: a JSON 404, not an HTML page."""
    return JsonResponse(
        error_body(404, "not_found", f"No API endpoint at {request.path}."),
        status=404,
    )


# Caching: ETag (from ConditionalGetMiddleware), Last-Modified, 304s.


class ConditionalGetMixin:
    """
    Send Last-Modified on every GET and answer 304 to a client whose copy is
    as new; let shared caches keep what anonymous clients get.
    """

    def list(self, request, *args, **kwargs):
        return self._conditional(
            request,
            lambda: super(ConditionalGetMixin, self).list(request, *args, **kwargs),
        )

    def retrieve(self, request, *args, **kwargs):
        return self._conditional(
            request,
            lambda: super(ConditionalGetMixin, self).retrieve(request, *args, **kwargs),
        )

    def _conditional(self, request, respond):
        # The site's last change, in one query: an item's representation also
        # shows its tags, linked items and counts, which change on their own.
        changed, self.upcoming = site_freshness()
        timestamp = int(changed.timestamp()) if changed else None
        response = None
        if timestamp is not None:
            response = get_conditional_response(request, last_modified=timestamp)
        if response is None:
            response = respond()
        if timestamp is not None:
            response.headers["Last-Modified"] = http_date(timestamp)
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Editors (with a token or a session) see more than anonymous clients.
        patch_vary_headers(response, ["Authorization", "Cookie"])
        if request.method in ("GET", "HEAD") and response.status_code in (200, 304):
            if request.user.is_authenticated:
                patch_cache_control(response, private=True, no_cache=True)
            else:
                patch_cache_control(
                    response,
                    public=True,
                    max_age=max_age(getattr(self, "upcoming", None)),
                )
        return response


class PublishableViewSet(
    ConditionalGetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """
    Readers get what is public; editors (staff with the model's change
    permission) also get drafts, items in review and scheduled ones, and may
    create and update. Nothing is deleted through the API.
    """

    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    filter_backends = [*viewsets.GenericViewSet.filter_backends, StrictOrderingFilter]
    ordering_fields = ["published_at", "updated_at"]
    model: type[Article] | type[Headline]
    write_serializer_class: type[serializers.Serializer]

    @property
    def ordering(self):
        # Drafts have no publication time to page through; editors see the
        # latest edits first.
        return "-updated_at" if self.editor else "-published_at"

    @property
    def editor(self) -> bool:
        return is_editor(self.request.user, self.model)

    def base_queryset(self):
        manager = self.model.objects
        return manager.all() if self.editor else manager.published()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Django reads a body only as long as its Content-Length says: a
        # chunked one would be taken for an empty body, whatever its size.
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            raise LengthRequired()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "editor": self.editor}

    def get_serializer_class(self):
        if self.request.method in ("POST", "PUT", "PATCH"):
            return self.write_serializer_class
        return self.serializer_class

    def _respond_with(self, item, status_code, headers=None):
        data = self.serializer_class(item, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers=headers)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = self._save(serializer, created_by=request.user)
        location = reverse(f"api:{self.basename}-detail", args=[item.slug])
        return self._respond_with(item, status.HTTP_201_CREATED, {"Location": location})

    def update(self, request, *args, **kwargs):
        item = self.get_object()
        if not can_edit(request.user, item):
            raise PermissionDenied(
                "Reporters change only their own drafts; this one is not yours "
                "to change (or no longer a draft)."
            )
        serializer = self.get_serializer(
            item, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        item = self._save(serializer)
        return self._respond_with(item, status.HTTP_200_OK)

    def _save(self, serializer, **extra):
        """Save what was sent; a change of status goes through the workflow."""
        user = self.request.user
        data = serializer.validated_data
        wanted = data.pop("status", None)
        based_on = data.pop("version", None) or self._if_match()
        editorial = {"published_at", "embargo_until", "featured"} & set(data)
        if editorial and not can_publish(user, self.model):
            raise PermissionDenied(
                f"Only an editor may set {', '.join(sorted(editorial))}."
            )
        with transaction.atomic():
            current = serializer.instance
            if current is not None:
                locked = self.model.objects.select_for_update().get(pk=current.pk)
                if based_on is not None and based_on != locked.version:
                    raise Conflict(locked, based_on)
            item = serializer.save(**extra)
            if wanted and wanted != item.status:
                move = move_to(item, wanted)
                if move is None:
                    raise ValidationError(
                        {
                            "status": [
                                f"No step of the workflow goes from "
                                f"{item.get_status_display().lower()} to {wanted}."
                            ]
                        }
                    )
                try:
                    perform(item, move.name, user=user)
                except TransitionNotAllowed as error:
                    raise PermissionDenied(str(error)) from error
        return item

    def _if_match(self) -> int | None:
        header = self.request.headers.get("If-Match", "").strip().strip('"')
        if not (header.isascii() and header.isdigit()):
            return None
        if len(header) > MAX_VERSION_DIGITS:
            raise ValidationError({"If-Match": ["No version is that large."]})
        return int(header)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, item, based_on: int):
        super().__init__(
            f"Someone else saved this since version {based_on}; it is now at "
            f"version {item.version}. Fetch it again and apply your change to "
            "that version: nothing was saved."
        )


LIST_PARAMETERS = [
    OpenApiParameter(
        "ordering",
        OpenApiTypes.STR,
        enum=["published_at", "-published_at", "updated_at", "-updated_at"],
        description="Sort order; default -published_at (editors: -updated_at). "
        "Use updated_at to sync.",
    ),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, description="Items per page, at most 100."
    ),
]


def publishable_schema(noun: str, plural: str, read, write):
    """Document a story or headline resource: reads for all, writes for editors."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {plural}",
            parameters=LIST_PARAMETERS,
            responses={200: read(many=True), **ERRORS},
        ),
        retrieve=extend_schema(
            summary=f"Get a {noun}", responses={200: read, **ERRORS}
        ),
        create=extend_schema(
            summary=f"Create a {noun} (editors)",
            request=write,
            responses={201: read, **WRITE_ERRORS},
        ),
        update=extend_schema(
            summary=f"Replace a {noun} (editors)",
            request=write,
            responses={200: read, **WRITE_ERRORS},
        ),
        partial_update=extend_schema(
            summary=f"Change some fields of a {noun} (editors)",
            request=write,
            responses={200: read, **WRITE_ERRORS},
        ),
    )


@publishable_schema("story", "stories", ArticleSerializer, ArticleWriteSerializer)
class ArticleViewSet(PublishableViewSet):
    """Stories: headline, dek, byline, body (Markdown and HTML), tags."""

    model = Article
    serializer_class = ArticleSerializer
    write_serializer_class = ArticleWriteSerializer
    filterset_class = ArticleFilter

    def get_queryset(self):
        headlines = (
            Headline.objects.all() if self.editor else Headline.objects.published()
        )
        queryset = self.base_queryset().prefetch_related(
            Prefetch("tags", queryset=Tag.objects.as_refs()),
            Prefetch(
                "headlines",
                queryset=headlines.only(
                    "id", "slug", "text", "published_at", "article"
                ),
                to_attr="visible_headlines",
            ),
            "corrections",
        )
        if self.request.method in SAFE_METHODS:
            queryset = queryset.for_reading()
        return queryset


@publishable_schema(
    "headline", "headlines", HeadlineSerializer, HeadlineWriteSerializer
)
class HeadlineViewSet(PublishableViewSet):
    """Short headline items, with the story that tells each in full, if any."""

    model = Headline
    serializer_class = HeadlineSerializer
    write_serializer_class = HeadlineWriteSerializer
    filterset_class = HeadlineFilter

    def get_queryset(self):
        queryset = self.base_queryset().select_related("article")
        queryset = queryset.prefetch_related(
            Prefetch("tags", queryset=Tag.objects.as_refs())
        )
        if self.request.method in SAFE_METHODS:
            queryset = queryset.for_reading().defer(
                "article__body", "article__body_html", "article__search_vector",
                "article__source_digests",
            )  # fmt: skip
        return queryset


@extend_schema_view(
    list=extend_schema(
        summary="List topics",
        parameters=[LIST_PARAMETERS[1]],
        responses={200: TagSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a topic", responses={200: TagSerializer, **ERRORS}
    ),
)
class TagViewSet(ConditionalGetMixin, viewsets.ReadOnlyModelViewSet):
    """Topics: people, places, organizations and subjects, with public counts."""

    serializer_class = TagSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    filterset_class = TagFilter
    pagination_class = SlugCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema needs the model, not the counts (which run a query).
            return Tag.objects.none()
        if is_editor(self.request.user, Tag):
            return Tag.objects.with_public_counts().order_by("slug")
        return Tag.objects.in_use().order_by("slug")


class ChangeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["article", "headline"])
    action = serializers.ChoiceField(choices=["created", "updated", "withdrawn"])
    id = serializers.IntegerField()
    slug = serializers.CharField()
    changed_at = serializers.DateTimeField()
    api_url = serializers.SerializerMethodField(
        help_text="Where to fetch the item; null when it was withdrawn."
    )

    def get_api_url(self, change) -> str | None:
        if change.action == "withdrawn":
            return None
        path = reverse(f"api:{change.type}-detail", args=[change.slug])
        return self.context["request"].build_absolute_uri(path)


class ChangeFeedView(APIView):
    """
    What changed since your last visit: items created, updated and withdrawn.

    Start without ``since`` (every public item comes as ``created``), apply the
    changes in order, keep ``next`` and ask again with ``?since=<next>``; while
    ``has_more`` is true, ask again at once. A change may come twice: apply
    them idempotently (upsert by type and id; delete on ``withdrawn``).
    """

    @extend_schema(
        summary="Changes since a cursor",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="The `next` cursor of your previous call.",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"Changes per call, at most {CHANGES_MAX_LIMIT}.",
            ),
        ],
        responses={
            200: inline_serializer(
                name="ChangeFeed",
                fields={
                    "changes": ChangeSerializer(many=True),
                    "next": serializers.CharField(),
                    "has_more": serializers.BooleanField(),
                },
            ),
            **ERRORS,
        },
    )
    def get(self, request):
        errors = {}
        position = None
        if request.query_params.get("since"):
            try:
                position = Position.decode(request.query_params["since"])
            except InvalidCursor as error:
                errors["since"] = [str(error)]
        limit = request.query_params.get("limit", str(CHANGES_LIMIT))
        # Short before int(): Python refuses to read thousands of digits.
        if not (limit.isascii() and limit.isdigit() and len(limit) <= 6) or not (
            1 <= int(limit) <= CHANGES_MAX_LIMIT
        ):
            errors["limit"] = [f"A whole number from 1 to {CHANGES_MAX_LIMIT}."]
        if errors:
            raise ValidationError(errors)
        changes, next_position, has_more = changes_since(position, limit=int(limit))
        return Response(
            {
                "changes": ChangeSerializer(
                    changes, many=True, context={"request": request}
                ).data,
                "next": next_position.encode(),
                "has_more": has_more,
            }
        )


class APIRootView(APIView):
    """The API's resources, documentation and change feed."""

    @extend_schema(exclude=True)
    def get(self, request):
        def link(name):
            return request.build_absolute_uri(reverse(name))

        return Response(
            {
                "articles": link("api:article-list"),
                "headlines": link("api:headline-list"),
                "tags": link("api:tag-list"),
                "changes": link("api:changes"),
                "schema": link("api:schema"),
                "docs": link("api:docs"),
            }
        )
