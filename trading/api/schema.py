from trading.api.filters import SYMBOL_PATTERN

TAGS = ["trading"]
SYMBOL_SCHEMA = {"type": "string", "pattern": f"^{SYMBOL_PATTERN}$"}
