"""The crawl's name resolver: it hands the downloader only addresses the address check has approved.

``AddressSafetyMiddleware`` resolves a request's host, refuses it when an address is private (unless
configured) and pins the approved address here; Twisted then connects to exactly that address, so a
second lookup cannot answer differently (DNS rebinding) and no spelling of a host reaches a socket
without having been checked. Twisted installs one resolver per process, and a crawl process runs one
crawler, so the pins are process-wide.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.base import ThreadedResolver
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

PINNED: dict[str, str] = {}  # host as the downloader spells it -> the approved address


def host_key(host: str) -> str:
    return host.strip("[]").lower()


def pin(host: str, address: str) -> None:
    PINNED[host_key(host)] = address


@implementer(IResolverSimple)
class PinnedResolver(ThreadedResolver):
    """Answers with the pinned address; a host the address check has not approved does not resolve."""

    @classmethod
    def from_crawler(cls, crawler, reactor) -> PinnedResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout=()):  # noqa: N802 - Twisted's interface
        address = PINNED.get(host_key(name))
        if address is None:
            return defer.fail(DNSLookupError(f"{name}: not approved by the address check"))
        return defer.succeed(address)
