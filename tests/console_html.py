"""Checks on the console's HTML that no browser-free test would otherwise notice."""

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth = 0
        self.nested = 0

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            self.nested += self.depth > 0
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self.depth -= 1


def forms_opened_inside_a_form(page: str) -> int:
    """How many <form> tags open while another is open: the browser drops them, so their
    buttons post the outer form (the admin's change or list form) instead."""
    parser = _Forms()
    parser.feed(page)
    return parser.nested
