"""The client facts of a request (device id, IP) as the risk signals believe them."""

from __future__ import annotations

import ipaddress

from flask import current_app

from backend import rate_limits


def client_ip() -> str | None:
    """The client's IP as far as the signals believe it (call within a request): the
    trusted proxy header's (``TRUSTED_PROXY_HEADER``, ``TRUSTED_PROXY_HOPS``) when one is
    configured; without one, the socket's peer unless it is a loopback or private
    address (then it is our own proxy's, the same for every client: no signal)."""
    ip = rate_limits.client_ip()
    if current_app.config["FISSION"].trusted_proxy_header:
        return ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return None if address.is_loopback or address.is_private else ip
