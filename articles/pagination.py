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

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception as error:
            # The base class answers 404; a bad parameter is a 400 that names it.
            raise ValidationError({self.cursor_query_param: [str(error)]}) from error
