import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class TimeCursorPagination(CursorPagination):
    """
    Pages that stay put while stories are added: a cursor, not a page number.

    Ordered by publication time (newest first) unless ``?ordering=`` asks for
    ``updated_at`` (the order to sync in) or ``published_at``, either way.
    """

    ordering = "-published_at"
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_cursor_message = "This cursor is not one the API gave out."

    def get_paginated_response_schema(self, schema):
        # DRF describes the links in OpenAPI 3.0 terms ("nullable"); the
        # schema is 3.1, where null is a type of its own.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as error:
            # A cursor that decodes but holds no time of ours (a doctored one).
            raise ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from error

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except Exception as error:
            # The base class answers 404; a bad parameter is a 400 that names it.
            raise ValidationError({self.cursor_query_param: [str(error)]}) from error
        if cursor is not None and cursor.position is not None:
            if not self.is_position(cursor.position):
                raise ValidationError(
                    {self.cursor_query_param: [self.invalid_cursor_message]}
                )
        return cursor

    def is_position(self, position: str) -> bool:
        """Say whether ``position`` is one of ours: a time with its UTC offset."""
        try:
            moment = parse_datetime(position)
        except ValueError:
            return False
        return moment is not None and moment.tzinfo is not None


class SlugCursorPagination(TimeCursorPagination):
    """Topics, in the order of their slugs."""

    ordering = "slug"

    def is_position(self, position: str) -> bool:
        # A slug, or the database is not asked: PostgreSQL refuses a NUL in text.
        return re.fullmatch(r"[-\w]+", position) is not None
