"""A private-address guard at connection time: the crawl reaches public addresses only.

On a cloud machine 169.254.169.254 hands out credentials; a site whose DNS (or a DNS rebinding)
points at a private, loopback or metadata address must not make the crawler fetch from inside
the network. The check runs after DNS, in the resolver every connection goes through
(:class:`GuardedResolver`), and for IP literals in :class:`AddressGuardMiddleware`:

- link-local, multicast, unspecified and cloud metadata addresses: never;
- loopback and private ranges (everything not globally routable): only the addresses a seed's own
  start URLs resolve to (the demo site and the tests on 127.0.0.1 keep working, nothing else
  there is reached) and the networks of ``NEWSWARC_CRAWL_ALLOW_NETWORKS`` (``[crawl] allow_networks``).

A refused request is counted (``newswarc/crawl/skipped/private_address``) and each refused
host (name or address) is named once in the log. The registry is per process: seeds crawled side by side share
their allowances.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from crawler.context import in_thread

logger = logging.getLogger(__name__)

STAT = "newswarc/crawl/skipped/private_address"
METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200",
                                              "169.254.170.2")}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
try:
    from scrapy.exceptions import CannotResolveHostError  # Scrapy 2.13+

    DNS_ERRORS: tuple[type[BaseException], ...] = (DNSLookupError, CannotResolveHostError)
except ImportError:  # older Scrapy
    DNS_ERRORS = (DNSLookupError,)


def _ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def kind_of(ip: IPAddress) -> str | None:
    """``"metadata"``, ``"link-local"``... for an address that is never fetched, ``"private"`` for one
    that needs an allowance, None for a public address."""
    if ip in METADATA:
        return "cloud metadata"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast or ip.is_unspecified:
        return "multicast/unspecified"
    if ip.is_loopback:
        return "loopback"
    if not ip.is_global:
        return "private"
    return None


class AddressGuard:
    """Which addresses may be connected to, and the refusals so far (thread-safe)."""

    def __init__(self) -> None:
        self.allowed: set[IPAddress] = set()
        self.networks: frozenset[ipaddress.IPv4Network | ipaddress.IPv6Network] = frozenset()
        self.refused: dict[str, str] = {}  # host name or literal -> why
        self._named: set[str] = set()
        self._lock = threading.Lock()

    def allow_networks(self, networks: Iterable[str]) -> None:
        """Allow these networks (``[crawl] allow_networks``); a set, as every crawler of the process registers its own."""
        parsed = {ipaddress.ip_network(str(net), strict=False) for net in networks}
        with self._lock:
            self.networks = self.networks | parsed  # a new set: a reader iterating the old one is not disturbed

    def allow_start_urls(self, urls: Iterable[str]) -> None:
        """The addresses of a seed's own start hosts (blocking: DNS)."""
        for url in urls:
            host = urlsplit(url).hostname or ""
            literal = _ip(host)
            ips = [literal] if literal else []
            if not ips:
                try:
                    ips = [_ip(info[4][0]) for info in socket.getaddrinfo(host, None)]
                except OSError:
                    continue
            with self._lock:
                self.allowed.update(ip for ip in ips if ip is not None and kind_of(ip) in ("loopback", "private"))

    def why_refused(self, host: str, ip: IPAddress) -> str | None:
        """None when ``ip`` may be connected to; else why not (and it is named in the log once)."""
        kind = kind_of(ip)
        if kind is None:
            return None
        if kind in ("loopback", "private") and (ip in self.allowed or any(ip in n for n in self.networks)):
            return None
        why = f"{host} is {ip}, a {kind} address" if host != str(ip) else f"{ip} is a {kind} address"
        if kind in ("loopback", "private"):
            why += " (not a seed's own; allow it with [crawl] allow_networks)"
        with self._lock:
            self.refused[host] = why
            first = host not in self._named
            self._named.add(host)
        if first:
            logger.warning("Refused to connect: %s", why)
        return why

    def refusal(self, url: str) -> str | None:
        """Why requests to ``url``'s host were refused, if they were."""
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return None
        return self.refused.get(host)


GUARD = AddressGuard()


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's resolver (``TWISTED_DNS_RESOLVER``); a refused address resolves to nothing.

    It reads ``NEWSWARC_CRAWL_ALLOW_NETWORKS`` itself, for crawls whose spider has no seed.
    """

    @classmethod
    def from_crawler(cls, crawler, reactor):
        GUARD.allow_networks(crawler.settings.getlist("NEWSWARC_CRAWL_ALLOW_NETWORKS"))
        return super().from_crawler(crawler, reactor)

    def getHostByName(self, name, timeout=()):
        d = super().getHostByName(name, timeout)
        d.addCallback(self._check, name)
        return d

    @staticmethod
    def _check(address: str, name: str) -> str:
        ip = _ip(address)
        if ip is not None and (why := GUARD.why_refused(name, ip)):
            raise DNSLookupError(why)  # no address; AddressGuardMiddleware.process_exception counts it
        return address


class AddressRefused(IgnoreRequest):
    """A request to an IP literal the guard refuses."""


class AddressGuardMiddleware:
    """Registers the seed's allowances before the first request; refuses IP literals (and hosts refused
    before) up front; turns the resolver's refusal into a counted :class:`AddressRefused`.

    At priority 560, just past RetryMiddleware (550): a refusal is not retried, and as an
    IgnoreRequest it is not logged again as an error (by the spider or the robots.txt middleware).
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        GUARD.allow_networks(crawler.settings.getlist("NEWSWARC_CRAWL_ALLOW_NETWORKS"))
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def spider_opened(self, spider=None) -> None:
        seed = getattr(spider, "seed", None)
        if seed is not None:
            await in_thread(GUARD.allow_start_urls, seed.start_urls)

    def process_request(self, request, spider=None):
        host = urlsplit(request.url).hostname or ""
        ip = _ip(host)
        why = GUARD.refused.get(host) or (GUARD.why_refused(host, ip) if ip is not None else None)
        if why:
            self.crawler.stats.inc_value(STAT)
            raise AddressRefused(why)
        return None

    def process_exception(self, request, exception, spider=None):
        # Scrapy 2.13+ raises CannotResolveHostError (from DNSLookupError); older ones DNSLookupError
        if isinstance(exception, DNS_ERRORS) and (why := GUARD.refusal(request.url)):
            self.crawler.stats.inc_value(STAT)
            raise AddressRefused(why)
        return None
