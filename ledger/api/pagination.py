from core.api.pagination import CursorPagination


class EntryCursorPagination(CursorPagination):
    # An account's entries, in id order, are its statement (and its hash chain).
    ordering = ("-id",)
