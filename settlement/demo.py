"""Demo data for settlement, so its screens have something to work on:

- trades in today's open batch, for staff to close, clear and settle from the console:
  alpha buys 100 ACME at 10.00 from beta; beta buys 30 of the 50 GLOBEX alpha offers at
  25.00 (the other 20 stay on the book, still held);
- a statement of the house USD bank account: the two demo deposits, which match the
  ledger, and a bank fee the ledger does not know of (a bank-only break to resolve).

Idempotent: the orders have fixed client order ids (placing one again is a replay), and the
statement a fixed id (imported once). Orders are placed only where they are matched now
(the embedded default matches inline; otherwise a matcher must be beating): where order
entry refuses them for want of a matcher (503), the seeder says so and goes on.
"""

from django.utils import timezone

from core.demo import register_demo_seeder
from core.errors import ApplicationError, ServiceUnavailable
from core.models import Partner
from core.money import from_minor_units
from ledger.demo import demo_deposit_id
from ledger.models import Transfer
from settlement.models import BankStatement
from settlement.reconciliation.statements import statement_import
from settlement.services.windows import business_zone
from trading.selectors import instrument_get
from trading.services.orders import order_place

DEMO_STATEMENT_ID = "DEMO-USD-1"
BANK_FEE = -2500  # minor units of USD
# (partner, client order id, symbol, side, quantity, price in minor units)
DEMO_ORDERS = (
    ("beta", "demo-acme-sell-1", "ACME/USD", "sell", 100, 1000),
    ("alpha", "demo-acme-buy-1", "ACME/USD", "buy", 100, 1000),
    ("alpha", "demo-globex-sell-1", "GLOBEX/USD", "sell", 50, 2500),
    ("beta", "demo-globex-buy-1", "GLOBEX/USD", "buy", 30, 2500),
)


@register_demo_seeder("settlement")
def seed(*, acting_user, stdout) -> None:
    _orders_seed(acting_user=acting_user, stdout=stdout)
    _statement_seed(acting_user=acting_user, stdout=stdout)


def _orders_seed(*, acting_user, stdout) -> None:
    partners = Partner.objects.in_bulk(["alpha", "beta"], field_name="slug")
    if len(partners) < 2:
        stdout.write("  settlement: demo partners missing, no demo trades")
        return
    for slug, client_order_id, symbol, side, quantity, price in DEMO_ORDERS:
        try:
            placed = order_place(
                partner=partners[slug],
                instrument=instrument_get(symbol=symbol),
                client_order_id=client_order_id,
                side=side,
                type="limit",
                time_in_force="gtc",
                quantity=quantity,
                price=price,
                acting_user=acting_user,
            )
        except ServiceUnavailable:  # order entry's own check: no matcher would take it
            stdout.write(
                "  settlement: no matcher running, no demo trades (start it, e.g. make up, "
                "and run seed_demo again)"
            )
            return
        except ApplicationError as exc:  # e.g. an instrument staff halted: say it, go on
            stdout.write(f"  settlement: {slug} {client_order_id} not placed: {exc.message}")
            continue
        order = placed.order
        state = "exists" if placed.replayed else "placed"
        stdout.write(
            f"  settlement: {slug} {side} {quantity} {symbol} {state}, {order.status}"
            f" ({order.filled_quantity} filled)"
        )


def _statement_seed(*, acting_user, stdout) -> None:
    if BankStatement.objects.filter(statement_ref=DEMO_STATEMENT_ID).exists():
        stdout.write(f"  settlement: bank statement {DEMO_STATEMENT_ID} already imported")
        return
    deposits = list(
        Transfer.objects.filter(
            pk__in=[demo_deposit_id(partner_slug=s, asset="USD") for s in ("alpha", "beta")]
        ).order_by("created_at")
    )
    if len(deposits) < 2:
        stdout.write("  settlement: the demo USD deposits are missing, no bank statement")
        return
    statement = statement_import(
        content=_statement_csv(deposits).encode(),
        filename="demo-statement.csv",
        format="csv",
        acting_user=acting_user,
    )
    stdout.write(
        f"  settlement: bank statement {DEMO_STATEMENT_ID} imported,"
        f" {statement.matched_count} of {statement.line_count} lines matched"
    )


def _statement_csv(deposits: list) -> str:
    """The bank's view: the deposits came into the house account; then a fee went out."""
    day = timezone.localtime(deposits[-1].created_at, business_zone()).date().isoformat()
    rows = [("opening", day, 0, "", "Opening balance")]
    rows += [("line", day, d.amount, d.reference, "Deposit") for d in deposits]
    rows.append(("line", day, BANK_FEE, "FEE-DEMO", "Monthly account fee"))
    closing = sum(d.amount for d in deposits) + BANK_FEE
    rows.append(("closing", day, closing, "", "Closing balance"))
    lines = ["record,statement_id,currency,date,amount,reference,description"]
    lines += [
        f"{record},{DEMO_STATEMENT_ID},USD,{day},{from_minor_units(amount, scale=2)},{ref},{text}"
        for record, day, amount, ref, text in rows
    ]
    return "\n".join(lines) + "\n"
