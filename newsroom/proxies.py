"""
Who a request came from, when proxies stand between the reader and us.

With NEWSROOM_PROXY_COUNT = 0 (the default) the address is the connection's
own. Behind N proxies, each appends the address it saw to X-Forwarded-For, so
the client is the Nth address from the right: anything further left was
written by the client and could be anything.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """Return the address of the client that sent ``request``."""
    count = settings.NEWSROOM_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if not count:
        return remote
    hops = [
        hop.strip()
        for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if hop.strip()
    ]
    if len(hops) < count:
        # Reached us without passing through every proxy: the connection's
        # own address is the only one to believe.
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
