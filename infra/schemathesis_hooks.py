"""What infra/fuzz-api's requests must respect that an OpenAPI document cannot state: rules
across parameters, and rules about earlier requests. infra/schemathesis.toml loads this file.

Each hook rewrites only a value the document admits, into another value the document admits
that the server accepts too; a value the document refuses (a negative case) is left as it is.
"""

import datetime
import itertools
import re

import schemathesis

# functions/reporting/src/domain/period.rs: `from` <= `to`, at most 366 days, `to` defaults to
# today (UTC), and a date is YYYY-MM-DD.
MAX_DAYS = 366
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value):
    """The date `value` names, or None when it names none (left to the server to refuse)."""
    if not isinstance(value, str) or not DAY.fullmatch(value):
        return None
    # Python's dates start at year 1; year 0 is a leap year like year 4.
    if value.startswith("0000"):
        value = "0004" + value[4:]
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


@schemathesis.hook("map_case").apply_to(path=["/api/reports/transactions", "/api/reports/dashboard"])
def one_valid_period(context, case):
    """Moves `from` into the period the server accepts with the `to` given (or today's)."""
    query = case.query or {}
    start = _day(query.get("from"))
    end = _day(query["to"]) if "to" in query else datetime.datetime.now(datetime.timezone.utc).date()
    if start is None or end is None:
        return case
    if "to" in query and start > end:
        start, end = end, start
    start = end - datetime.timedelta(days=(end - start).days % MAX_DAYS)
    query["from"] = start.isoformat()
    if "to" in query:
        query["to"] = end.isoformat()
    return case


# shared/src/idempotency.rs: a key already used by the caller with another body is a 422, by
# design (the system tests cover replays and that refusal).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7E]{1,255}")
_requests = itertools.count()


@schemathesis.hook("map_case").apply_to(operation_id=["deposit", "transfer", "transferV2"])
def a_key_of_its_own(context, case):
    """Gives every request its own Idempotency-Key: the generated one, with a counter."""
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key):
        suffix = f"-{next(_requests)}"
        case.headers["Idempotency-Key"] = key[: 255 - len(suffix)] + suffix
    return case
