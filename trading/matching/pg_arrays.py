"""PostgreSQL array literals for the matcher's one-statement writes, built by hand.

A batch sends some 8,000 values as arrays (an array per column, `unnest` on the server).
psycopg's list dumper is general: per element it dumps the value, then runs a regex to
see whether its text needs quoting; that was a third of the matcher's Python time a
batch. The matcher's values are ints, UUIDs, booleans and short strings, whose literal
text is known, so each array is one join here and one text parameter (cast to its array
type in the SQL, e.g. `%s::uuid[]`). A malformed literal is refused by PostgreSQL, never
read as something else.
"""

from collections.abc import Iterable


def ints(values: Iterable[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def uuids(values: Iterable) -> str:
    """UUIDs (or their canonical text); no NULLs."""
    return "{" + ",".join(map(str, values)) + "}"


def bools(values: Iterable[bool]) -> str:
    return "{" + ",".join(["t" if value else "f" for value in values]) + "}"


def texts(values: Iterable[str]) -> str:
    """Any strings: each double-quoted, its backslashes and double quotes escaped (the
    array input syntax), so commas, braces, blanks or 'NULL' stay text."""
    quoted = _QUOTED  # statuses, sides, reasons: a handful of values, quoted once each
    return "{" + ",".join([quoted.get(value) or _quoted(value) for value in values]) + "}"


_QUOTED: dict[str, str] = {}
_QUOTED_KEPT = 256


def _quoted(value: str) -> str:
    text = str.__str__(value)  # the text itself, also of a str enum (Order.Status.FILLED)
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = f'"{text}"'
    if len(_QUOTED) < _QUOTED_KEPT and len(value) <= 64:
        _QUOTED[value] = text
    return text
