"""The partner API reads JSON only, and any JSON a client sends is a 400 at worst."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # thousands of nested arrays or objects
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
