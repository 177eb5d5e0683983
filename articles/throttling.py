"""
API rates. DRF's settings import these while rest_framework.views is still
loading, so they live apart from the views.
"""

from rest_framework.throttling import UserRateThrottle


class SignedInRateThrottle(UserRateThrottle):
    """A rate for each signed-in client; anonymous ones have the ``anon`` rate."""

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
