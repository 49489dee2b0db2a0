"""What the leads board and the deals board share: a column (its count and totals over all
its cards, its first cards), filling every column's first cards in one query, and a column's
"Show more" page. Each board says what a card is (its rows and its stage field); a card
shows its contact by name (``prefetch_contact_names``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from frontdesk.crm.queries.paging import Sort, first_pages, keyset_page
from frontdesk.inbox.queries import Page, prefetch_contact_names

# Cards per column at first (the most recently updated); "Show more" in a column pages on
# through the rest (``column_page``), and the list holds them all; the counts and totals
# cover them all. A card costs about 0.2 ms to render: 20 a column made the deals board of
# a workspace with 20,000 deals take 100+ ms.
COLUMN_LIMIT = 10
CARD_ORDER = Sort("updated_at", descending=True)
# What a card shows of its lead or deal, its contact and its owner (web/templatetags/
# frontdesk_crm.py, _card_body): only these are read (a deal has 21 columns, a contact and
# a member 13 each, most never shown on a card; each read costs its conversion).
CARD_FIELDS = (
    "title",
    "value",
    "currency",
    "updated_at",
    "contact",
    "contact__name",
    "contact__company",
    "contact__avatar",
    "owner",
    "owner__name",
    "owner__email",
)


@dataclass
class Column[StageT]:
    stage: StageT
    cards: list[Any] = field(default_factory=list)  # the first COLUMN_LIMIT
    count: int = 0  # every card in the stage
    sums: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    next_cursor: str | None = None  # where "Show more" goes on, when cards are left
    more_link: str = ""  # the page's: "Show more" (from next_cursor) and the list of them all
    list_link: str = ""

    def add(self, currency: str, n: int, total: Decimal | None) -> None:
        """A stage total's row: ``n`` more cards, worth ``total`` in ``currency``."""
        self.count += n
        if total is not None:
            self.sums[currency] += total

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """The stage's summed value per currency (all its cards), largest first."""
        return sorted(self.sums.items(), key=lambda item: -item[1])

    @property
    def hidden(self) -> int:
        return self.count - len(self.cards)

    @property
    def next_n(self) -> int:
        """How many cards "Show more" adds."""
        return min(COLUMN_LIMIT, self.hidden)


def card_rows(rows: QuerySet, *fields: str) -> QuerySet:
    """``rows`` read as a board's cards: with their contact and owner, and only what a
    card shows (``CARD_FIELDS``, and the board's own ``fields``)."""
    return rows.select_related("contact", "owner").only(*CARD_FIELDS, *fields)


def fill_cards(columns: dict[Any, Column], cards: QuerySet, stage_field: str) -> list[Column]:
    """Every counted column's first cards in one query (keyed by their ``stage_field``
    value), and what their contacts' names need in one query, not one per column."""
    filled = [key for key, column in columns.items() if column.count]
    for key, page in first_pages(cards, CARD_ORDER, stage_field, filled, COLUMN_LIMIT).items():
        columns[key].cards, columns[key].next_cursor = page.items, page.next_cursor
    prefetch_contact_names([card for c in columns.values() for card in c.cards])
    return list(columns.values())


def column_page(
    rows: QuerySet, cards: QuerySet, cursor: str, limit: int | None
) -> tuple[Page, int]:
    """The next cards of one column (``rows``, read as ``cards``) after ``cursor`` (its
    "Show more"), and how many come after them. A bad cursor raises ``BadCursor``."""
    page = keyset_page(cards, CARD_ORDER, cursor, limit or COLUMN_LIMIT)
    prefetch_contact_names(page.items)
    left = 0
    if page.next_cursor:
        last = page.items[-1]
        left = rows.filter(CARD_ORDER.after(last.updated_at, last.pk)).count()
    return page, left
