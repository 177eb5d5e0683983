"""
API rates. DRF's settings import these while rest_framework.views is still
loading, so they live apart from the views.

A client is counted by the address newsroom.proxies.client_ip gives, the one
rule the sign-in lockout and the request log use too; DRF's own reading of
X-Forwarded-For would believe what a client writes when the chain is short.
"""

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from newsroom.proxies import client_ip


class ClientAddressMixin:
    def get_ident(self, request):
        return client_ip(request)


class AnonymousRateThrottle(ClientAddressMixin, AnonRateThrottle):
    """The ``anon`` rate for each address that is not signed in."""


class SignedInRateThrottle(ClientAddressMixin, UserRateThrottle):
    """A rate for each signed-in client; anonymous ones have the ``anon`` rate."""

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
