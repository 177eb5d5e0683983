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
    return parse_address(hops[-count]) or remote


def parse_address(hop: str) -> str | None:
    """
    Return the address in one X-Forwarded-For entry, or None.

    Some balancers write a port after it ("203.0.113.7:4711",
    "[2001:db8::1]:4711"); the port is dropped.
    """
    candidates = [hop]
    if hop.startswith("[") and "]" in hop:
        candidates.append(hop[1 : hop.index("]")])
    elif hop.count(":") == 1:
        candidates.append(hop.split(":")[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
