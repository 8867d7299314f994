"""Light stand-ins for the Transfer and Entry rows the posting engine makes, for bulk calls
(ledger.services.ledger_apply_bulk) that answer with ids only. A row has exactly the
model's attributes, so the engine's rules, the digest and the storage's statements read it
as they read a model instance; building one costs a fraction of a model's __init__ (which
was a third of a settlement chunk's Python: four rows per shrink)."""

from ledger.models import Entry, Transfer

_MISSING = object()


class _Row:
    __slots__ = ()
    row_of = None  # the model the row stands for (ledger.storage reads its fields)
    _defaults: tuple = ()  # (attname, default value, or _MISSING if made by a callable)
    _made: tuple = ()  # (attname, field) of the fields whose default a callable makes

    def __init__(self, **values):
        for attname, default in self._defaults:
            setattr(self, attname, values.pop(attname, default))
        for attname, field in self._made:
            if getattr(self, attname) is _MISSING:
                setattr(self, attname, field.get_default())
        if values:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(values)}")

    @property
    def pk(self):
        return self.id

    def __repr__(self):
        return f"<{type(self).__name__} {self.pk}>"


def _shape(model, *, skip=()):
    fields = [f for f in model._meta.concrete_fields if f.attname not in skip]
    made = tuple((f.attname, f) for f in fields if f.has_default() and callable(f.default))
    defaults = tuple(
        (f.attname, _MISSING if (f.attname, f) in made else f.get_default()) for f in fields
    )
    return tuple(f.attname for f in fields), defaults, made


class TransferRow(_Row):
    row_of = Transfer
    __slots__, _defaults, _made = _shape(Transfer)


class EntryRow(_Row):
    row_of = Entry
    __slots__, _defaults, _made = _shape(Entry, skip=("id",))  # the id is the database's
