"""The facts a rule may read, per subject: a flat dict of primitives (ints in minor units,
strings, booleans, lists of strings). A rule's identifiers are checked against this schema
when it is saved; a fact absent at decision time (a market order's price) is missing, and
a rule reading it errors (then its on_error says what that counts as)."""

from risk.models.choices import Subject

WINDOWS = ("1m", "1h", "24h")


def _velocity(scope: str) -> dict[str, str]:
    facts = {}
    for window in WINDOWS:
        facts[f"vel_{scope}_count_{window}"] = "int"
        facts[f"vel_{scope}_sum_{window}"] = "int"
    return facts


COMMON = {
    "amount": "int",  # minor units of `asset`: a transfer's amount, an order's notional
    "asset": "string",
    "partner": "string",  # the partner's slug
    "partner_status": "string",  # active or inactive
    "partner_lists": "list",  # names of the lists the partner's slug is on
    **_velocity("partner"),
}

FACTS_SCHEMA: dict[str, dict[str, str]] = {
    Subject.ORDER: {
        **COMMON,
        "notional": "int",  # price x quantity in quote minor units (a market buy: at the collar)
        "quantity": "int",  # base minor units
        "price": "int",  # quote minor units per whole base unit; missing for a market order
        "side": "string",
        "order_type": "string",
        "time_in_force": "string",
        "instrument": "string",  # the symbol
        "base_asset": "string",
    },
    Subject.TRANSFER: {
        **COMMON,
        "counterparty": "string",  # the credited account's id
        "counterparty_lists": "list",
        "debit_account": "string",
        "reference": "string",
        "reference_lists": "list",
        "code": "string",
        "pending": "bool",
        **_velocity("counterparty"),
    },
}

TYPE_CHECKS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def facts_clean(*, subject: str, facts: dict) -> dict:
    """Only the schema's facts, of the schema's types (pasted facts in the test box, stored
    facts in a backtest): anything else is dropped, so a rule sees primitives only."""
    schema = FACTS_SCHEMA[subject]
    return {
        name: value
        for name, value in facts.items()
        if name in schema and TYPE_CHECKS[schema[name]](value)
    }
