"""The ledger's part of the operations console: accounts with their statements, the
read-only transfer journal, four-eyes adjustments, the invariant checker's runs, and the
dashboard tiles.

Nothing here writes a ledger row itself: every action calls a service in ledger.services or
ledger.adjustments, and a domain error becomes a message on the page, never a 500.
"""

from ledger import dashboard  # noqa: F401 - registers the dashboard tiles
from ledger.admin import accounts, adjustments, checks, journal, partner_page  # noqa: F401
