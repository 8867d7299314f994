"""Settlement's part of the operations console: batches with their history, steps and
unposted obligations (close / clear / settle / retry call the same services as the jobs),
obligations, bank statements, lines, matches and breaks, and the dashboard tiles."""

from settlement import dashboard  # noqa: F401 - registers the dashboard tiles
from settlement.admin import batches, reconciliation  # noqa: F401
