"""Transactions: each request with its response and the time between, slowest first.

HTTP/1.x requests and responses, DNS queries and answers, ICMP and ICMPv6 echo, paired
as Wireshark pairs them (``analysis.expert`` over the display filter's passes, so
``http.time > 1`` in the filter bar selects the responses this lists above 1000 ms).
Enter goes to the response (the main screen moves the list to it).
"""

from __future__ import annotations

from tapwatch.analysis.conversations import Column
from tapwatch.analysis.expert import ExpertIndex, sort_transactions, transaction_rows
from tapwatch.widgets.expert import IndexTableScreen

TRANSACTION_COLUMNS = (
    Column("Kind", 6),
    Column("Request", 8, True, 1),
    Column("Response", 8, True),
    Column("Time (ms)", 12, True),
    Column("What", 40),
)


class TransactionsScreen(IndexTableScreen):
    """Requests and responses with their response times; sort by time to find the slowest."""

    TITLE_TEXT = "Transactions (request → response)"
    COLUMNS = TRANSACTION_COLUMNS
    DEFAULT_SORT = ("Time (ms)", True)
    ASCENDING = frozenset({"Kind", "Request", "Response", "What"})

    def rows(
        self, index: ExpertIndex, column: str, descending: bool
    ) -> tuple[list[tuple[str, ...]], list[int], str]:
        rows = sort_transactions(index.transactions, column, descending)
        by_kind: dict[str, int] = {}
        for t in index.transactions:
            by_kind[t.kind] = by_kind.get(t.kind, 0) + 1
        head = (
            f"{len(index.transactions):,} transactions ("
            + ", ".join(f"{k} {n:,}" for k, n in sorted(by_kind.items()))
            + ")"
            if by_kind
            else "no request answered yet"
        )
        return transaction_rows(rows), [t.response for t in rows], head
