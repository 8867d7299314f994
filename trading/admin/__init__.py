"""Trading's part of the operations console: the order blotter with each order's fills and
hold, trades, instruments (halt, resume, the book from the database), the matchers'
status, and the dashboard tiles. Actions call services (trading.services.staff,
trading.services.instruments); nothing here writes a row itself."""

from trading import dashboard  # noqa: F401 - registers the dashboard tiles
from trading.admin import instruments, matchers, orders  # noqa: F401
