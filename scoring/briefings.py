"""Briefing articles counted per unit and arrival month."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scoring.evidence import Article
from scoring.settings import Calendar

BriefingCounts = dict[tuple[str, str], tuple[int, tuple[int, ...]]]


def briefing_counts(articles: Iterable[Article], calendar: Calendar) -> BriefingCounts:
    """{(unit, "YYYY-MM"): (articles, message ids)} by local arrival month.

    Only articles from registered senders count, never replies or auto-replies. An article (its key)
    counts once, for the unit and month of its first counting arrival; a resend in a later month or by
    another unit adds nothing. Message ids are distinct, in order of first arrival.
    """
    counts: dict[tuple[str, str], tuple[int, list[int]]] = {}
    for slot, article in _counted(articles, calendar):
        count, ids = counts.get(slot, (0, []))
        if article.message_id not in ids:
            ids.append(article.message_id)
        counts[slot] = (count + 1, ids)
    return {slot: (count, tuple(ids)) for slot, (count, ids) in counts.items()}


def article_places(articles: Iterable[Article], calendar: Calendar) -> dict[int, tuple[int, int]]:
    """{message id: (first, last)}: the places of a message's counted articles among its unit's counted
    articles of the month, by arrival (a receipt's "本月第 N 篇")."""
    counts: dict[tuple[str, str], int] = {}
    places: dict[int, tuple[int, int]] = {}
    for slot, article in _counted(articles, calendar):
        counts[slot] = place = counts.get(slot, 0) + 1
        first, _ = places.get(article.message_id, (place, place))
        places[article.message_id] = (first, place)
    return places


def _counted(articles: Iterable[Article], calendar: Calendar) -> Iterator[tuple[tuple[str, str], Article]]:
    """Each counting article with its (unit, month), in order of arrival; a key only the first time."""
    seen: set[str] = set()
    for article in sorted((a for a in articles if a.counts), key=lambda a: (a.arrival, a.message_id, a.key)):
        if article.key not in seen:
            seen.add(article.key)
            yield (article.unit, calendar.month_of(article.arrival)), article


def repeated(articles: Iterable[Article], calendar: Calendar) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """{(unit, "YYYY-MM"): [(message id, the message that brought its articles first)]}: each counting message
    none of whose articles counted, every one of them having come before (sent twice, forwarded, to two
    mailboxes), by its own arrival month, in order of arrival."""
    counting = sorted((a for a in articles if a.counts), key=lambda a: (a.arrival, a.message_id, a.key))
    brought = {article.key: article.message_id for _, article in _counted(counting, calendar)}
    bringers = set(brought.values())
    found: dict[tuple[str, str], list[tuple[int, int]]] = {}
    listed: set[int] = set()
    for article in counting:
        if article.message_id not in bringers and article.message_id not in listed:
            listed.add(article.message_id)
            slot = (article.unit, calendar.month_of(article.arrival))
            found.setdefault(slot, []).append((article.message_id, brought[article.key]))
    return found
