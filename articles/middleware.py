import base64
import hashlib

import reversion
from csp.middleware import CSPMiddleware, PolicyParts
from django.urls import reverse


class _Discard(Exception):
    def __init__(self, response):
        self.response = response


class RevisionMiddleware:
    """
    Keep one revision (with its author) of what a write request saved, and
    none when the request failed: a refused write leaves no trace in history.

    django-reversion's own middleware keeps the revision whatever the answer.

    Signing in saves no content, and its failures must stay written even when
    the answer is an error: django-axes counts them to lock out password
    guessing, and a lockout answers 429.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS") or (
            request.path_info == reverse("admin:login")
        ):
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


def allow_inline_script(request, text: str) -> None:
    """
    Let the page that ``request`` renders carry the script element ``text``.

    The element's SHA-256 joins the page's script-src, so exactly that text
    and no other inline script is allowed.
    """
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    hashes = request.__dict__.setdefault("inline_script_hashes", [])
    if f"'sha256-{digest}'" not in hashes:
        hashes.append(f"'sha256-{digest}'")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy, plus the hashes of the page's own inline scripts."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        hashes = getattr(request, "inline_script_hashes", [])
        if hashes and not report_only:
            update = dict(parts.update or {})
            update["script-src"] = [*update.get("script-src", []), *hashes]
            parts.update = update
        return parts
