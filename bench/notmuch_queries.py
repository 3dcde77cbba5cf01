"""notmuch queried in one process, warm: run by the system Python, which has Debian's python3-notmuch2.

    NOTMUCH_CONFIG=… XAPIAN_CJK_NGRAM=1 /usr/bin/python3 bench/notmuch_queries.py < request.json

The request is {"queries": [...], "repeats": 5}. For each query: the newest 50 messages read once to warm
up, then timed `repeats` times (median kept); then every match, as the numbers our bench messages carry
at the start of their Message-ID (000123.bench@163.com). Prints {"query": {"seconds": s, "hits": [n, ...]}}.
Imports nothing of mailroom: our virtualenv's Python cannot load the Debian bindings.
"""

import json
import statistics
import sys
import time
from itertools import islice

import notmuch2

SORT = notmuch2.Database.SORT.NEWEST_FIRST


def newest(database: notmuch2.Database, query: str, limit: int = 50) -> list[str]:
    return [message.messageid for message in islice(database.messages(query, sort=SORT, exclude_tags=()), limit)]


def main() -> None:
    request = json.load(sys.stdin)
    found = {}
    with notmuch2.Database(mode=notmuch2.Database.MODE.READ_ONLY) as database:
        for query in request["queries"]:
            newest(database, query)
            seconds = []
            for _ in range(request["repeats"]):
                started = time.perf_counter()
                newest(database, query)
                seconds.append(time.perf_counter() - started)
            hits = sorted(
                int(message.messageid.partition(".")[0]) for message in database.messages(query, exclude_tags=())
            )
            found[query] = {"seconds": statistics.median(seconds), "hits": hits}
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main()
