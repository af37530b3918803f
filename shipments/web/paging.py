"""Page numbers for the pages' tables: previous, next and a window of numbers around the current page."""
from dataclasses import dataclass


@dataclass
class Page:
    """One page of a counted list; offsets stop at max_pages (the rest is for filters or an export)."""

    requested: int
    size: int
    total: int
    max_pages: int = 200

    @property
    def pages(self) -> int:
        return max(1, min(self.max_pages, -(-self.total // self.size)))

    @property
    def page(self) -> int:
        return min(max(1, self.requested or 1), self.pages)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def truncated(self) -> bool:
        """More rows match than the pages reach."""
        return self.total > self.max_pages * self.size

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: the first, the last and those around this page; None marks a gap."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        shown, last = [], 0
        for number in sorted(n for n in wanted if 1 <= n <= self.pages):
            if number - last > 1:
                shown.append(None)
            shown.append(number)
            last = number
        return shown
