"""The partner API reads JSON only, and any JSON a client sends is a 400 at worst.

Text no database keeps as sent (NUL, which PostgreSQL refuses in text and jsonb; a lone
surrogate, which is not Unicode) is refused here, once, for every endpoint: in any string
of the body, keys included, at any depth. Query parameters get the same check in the views'
base class (core.api.base)."""

import io
import re

from django.conf import settings
from rest_framework import exceptions, parsers

# JSON can carry NUL and lone surrogates only as \u escapes (raw ones are invalid JSON or
# invalid UTF-8): a body without such an escape needs no walk.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:  # thousands of nested arrays or objects
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        suspect = encoding.lower() not in ("utf-8", "utf8") or _SUSPECT_ESCAPE.search(raw)
        if suspect and (problems := hostile_text_found(data)):
            raise exceptions.ValidationError(problems)
        return data


def text_problem(text: str) -> str | None:
    """Why `text` cannot be taken as it is, or None."""
    if "\x00" in text:
        return "Text may not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode (no lone surrogates)."
    return None


def printable_key(text: str) -> str:
    """A key safe to name in an error (the answer must be valid UTF-8 JSON itself)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def hostile_text_found(data, *, prefix: str = "") -> dict[str, list[str]]:
    """{path: [message]} for every string of `data` (keys too) holding NUL or a lone
    surrogate; paths read like the batch's own (`transfers[3].asset`). Iterative: nesting
    cannot exhaust the stack."""
    problems: dict[str, list[str]] = {}
    stack = [(prefix, data)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{printable_key(key)}" if path else printable_key(key)
                if problem := text_problem(key):
                    problems[child_path] = [f"Key: {problem}"]
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, str) and (problem := text_problem(item)):
            problems[path or "body"] = [problem]
    return problems
