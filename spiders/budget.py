"""Budgets that bound an outlet's share of a crawl, whatever its feeds and sitemaps say.

A hostile outlet can make work without end (a sitemap index whose children are indexes, forever).
Each outlet gets a number of requests and a span of time from its first request; a sitemap tree is
followed to a depth and, per index, to a number of children. Past a budget, a request is refused by
name (an outcome), and the other outlets go on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OutletBudget:
    max_requests: int
    max_seconds: float
    requests: int = 0
    started_at: float | None = None  # monotonic seconds of the outlet's first request

    def refusal(self, now: float) -> str | None:
        """Why one more request is refused (an outcome kind), or None while the budget lasts."""
        if self.started_at is not None and now - self.started_at > self.max_seconds:
            return "over-time-budget"
        if self.requests >= self.max_requests:
            return "over-request-budget"
        return None

    def spend(self, now: float) -> None:
        self.started_at = now if self.started_at is None else self.started_at
        self.requests += 1


def sitemap_children_to_follow(
    children: list[str], depth: int, max_depth: int, max_children: int
) -> tuple[list[str], dict[str, int]]:
    """The child sitemaps of an index at ``depth`` (0: a configured or robots.txt sitemap) to follow,
    and how many are left, by reason (``over-sitemap-depth``, ``over-sitemap-breadth``)."""
    if depth + 1 > max_depth:
        return [], ({"over-sitemap-depth": len(children)} if children else {})
    followed, left = children[:max_children], len(children) - max_children
    return followed, ({"over-sitemap-breadth": left} if left > 0 else {})
