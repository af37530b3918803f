"""Where a webhook may go: URL rules and the SSRF guard.

A target must be http(s) without credentials in it; in production mode
(neither DEBUG nor TESTING) it must be https unless the host is loopback.
Unless WEBHOOK_ALLOW_PRIVATE is on, every address the host resolves to must
be a public one (no private, loopback, link-local, shared, reserved or
multicast ranges), and the address a connection actually reaches is checked
again once connected, so a DNS answer that changes between the look-up and
the connection (rebinding) cannot reach an internal address either.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class AddressRefused(ValueError):
    """The target is not allowed (scheme, credentials, or a non-public address)."""


def is_public(address: str) -> bool:
    """True for a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def is_loopback_host(host: str) -> bool:
    """A host name or literal that means this machine."""
    host = host.lower().strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, production: bool) -> tuple[str, str, int]:
    """Check a target URL's form; return (scheme, host, port). Raises AddressRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("not a valid URL") from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("http", "https") or not host:
        raise AddressRefused("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise AddressRefused("must not contain a user name or password")
    if production and scheme != "https" and not is_loopback_host(host):
        raise AddressRefused("must use https (http only for loopback addresses)")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve `host`; every address must be public unless allow_private. Raises AddressRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve host: {exc}") from None
    addresses = sorted({info[4][0] for info in infos})
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise AddressRefused(f"resolves to a non-public address ({', '.join(refused)})")
    return addresses


# -- the connection-time check --------------------------------------------------
class _PeerCheck:
    allow_private = False

    def _new_conn(self):
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if not self.allow_private and not is_public(peer):
            sock.close()
            raise AddressRefused(f"connected to a non-public address ({peer})")
        return sock


class _HTTPConnection(_PeerCheck, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_PeerCheck, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Private:
    allow_private = True


class _PrivateHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = type("_PrivateHTTPConnection", (_Private, _HTTPConnection), {})


class _PrivateHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = type("_PrivateHTTPSConnection", (_Private, _HTTPSConnection), {})


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse non-public peers (unless allow_private)."""

    def __init__(self, *, allow_private: bool, pool_maxsize: int = 4):
        self.allow_private = allow_private
        super().__init__(pool_connections=8, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        pools = (_PrivateHTTPPool, _PrivateHTTPSPool) if self.allow_private else (_HTTPPool, _HTTPSPool)
        self.poolmanager.pool_classes_by_scheme = {"http": pools[0], "https": pools[1]}
