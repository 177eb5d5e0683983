import reversion


class _Discard(Exception):
    def __init__(self, response):
        self.response = response


class RevisionMiddleware:
    """
    Keep one revision (with its author) of what a write request saved, and
    none when the request failed: a refused write leaves no trace in history.

    django-reversion's own middleware keeps the revision whatever the answer.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)
        try:
            with reversion.create_revision():
                response = self.get_response(request)
                user = getattr(request, "user", None)
                if user is not None and user.is_authenticated:
                    reversion.set_user(user)
                if response.status_code >= 400:
                    raise _Discard(response)
        except _Discard as discard:
            return discard.response
        return response
