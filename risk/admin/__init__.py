"""Risk's part of the operations console: the review queue (claim next, approve, reject,
notes), rule sets with their versions (rules compiled on save, errors inline; a test box;
publish and roll back), lists, pre-trade controls, decisions, risk events and the
dashboard tile. Actions and pages call risk.services; nothing here writes a row itself."""

from risk import dashboard  # noqa: F401 - registers the dashboard tile
from risk.admin import records, review, rules  # noqa: F401
