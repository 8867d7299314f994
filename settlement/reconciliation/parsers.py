"""Bank statement files into one shape (ParsedStatement), each format through a maintained
parser: the standard library's csv, `mt-940` for SWIFT MT940, `pycamt` for ISO 20022
camt.053. Amounts become integers of minor units here (Decimal, never float).

CSV (UTF-8, a header row, one record per row):

    record,statement_id,currency,date,amount,reference,description
    opening,ST-20261201,USD,2026-12-01,1000.00,,
    line,ST-20261201,USD,2026-12-01,150.00,DEP-42,Deposit from alpha
    line,ST-20261201,USD,2026-12-01,-20.00,WD-7,Withdrawal to beta
    closing,ST-20261201,USD,2026-12-01,1130.00,,

- record: `opening` (once, first), `line` (any number), `closing` (once, last);
- statement_id: the bank's id of the statement, the same on every row;
- currency: ISO 4217, the same on every row; date: YYYY-MM-DD (a line's value date);
- amount: a decimal in the currency (at most its scale), signed: positive is money into
  the account; opening/closing are the balances;
- reference: what the ledger transfer's reference holds (matching keys on it);
- description: free text.
"""

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from settlement.errors import StatementRefused

CSV_COLUMNS = ("record", "statement_id", "currency", "date", "amount", "reference", "description")


@dataclass
class ParsedLine:
    value_date: date
    amount: Decimal
    reference: str = ""
    description: str = ""


@dataclass
class ParsedStatement:
    format: str
    statement_ref: str
    currency: str
    opening: Decimal
    closing: Decimal
    opening_date: date
    closing_date: date
    lines: list[ParsedLine] = field(default_factory=list)

    def digest_of(self, content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()


def statement_format_detect(content: bytes, *, filename: str = "") -> str:
    head = content.lstrip()[:200]
    if head.startswith(b"<") or filename.lower().endswith(".xml"):
        return "camt053"
    if b":20:" in content[:500] or filename.lower().endswith((".sta", ".940", ".mt940")):
        return "mt940"
    return "csv"


def statement_parse(content: bytes, *, format: str) -> ParsedStatement:
    parser = {"csv": _csv, "mt940": _mt940, "camt053": _camt053}.get(format)
    if parser is None:
        raise StatementRefused(details={"format": [f"Unknown format {format!r}."]})
    try:
        return parser(content)
    except StatementRefused:
        raise
    except (ValueError, KeyError, AttributeError, TypeError, InvalidOperation) as exc:
        raise StatementRefused(
            f"The file is not a readable {format} statement: {exc}",
            details={"file": [str(exc)[:500]]},
        ) from exc


def _decimal(text) -> Decimal:
    value = Decimal(str(text).strip())
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return value


def _csv(content: bytes) -> ParsedStatement:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    if not rows or tuple(rows[0].keys())[: len(CSV_COLUMNS)] != CSV_COLUMNS:
        raise StatementRefused(details={"file": [f"CSV columns must be {','.join(CSV_COLUMNS)}."]})
    first, last = rows[0], rows[-1]
    if first["record"] != "opening" or last["record"] != "closing" or len(rows) < 2:
        raise StatementRefused(details={"file": ["First row opening, last row closing."]})
    refs = {row["statement_id"] for row in rows}
    currencies = {row["currency"].upper() for row in rows}
    if len(refs) != 1 or len(currencies) != 1:
        raise StatementRefused(details={"file": ["One statement_id and currency per file."]})
    lines = []
    for row in rows[1:-1]:
        if row["record"] != "line":
            raise StatementRefused(details={"file": [f"Unexpected record {row['record']!r}."]})
        lines.append(
            ParsedLine(
                value_date=date.fromisoformat(row["date"]),
                amount=_decimal(row["amount"]),
                reference=(row["reference"] or "").strip(),
                description=(row["description"] or "").strip(),
            )
        )
    return ParsedStatement(
        format="csv",
        statement_ref=refs.pop(),
        currency=currencies.pop(),
        opening=_decimal(first["amount"]),
        closing=_decimal(last["amount"]),
        opening_date=date.fromisoformat(first["date"]),
        closing_date=date.fromisoformat(last["date"]),
        lines=lines,
    )


def _mt940(content: bytes) -> ParsedStatement:
    import mt940

    transactions = mt940.models.Transactions()
    transactions.parse(content.decode("utf-8", errors="strict"))
    data = transactions.data
    opening = data.get("final_opening_balance") or data["opening_balance"]
    closing = data.get("final_closing_balance") or data["closing_balance"]
    lines = []
    for transaction in transactions:
        t = transaction.data
        reference = t.get("customer_reference") or ""
        if reference.upper() == "NONREF":
            reference = ""
        lines.append(
            ParsedLine(
                value_date=_plain_date(t["date"]),
                amount=_decimal(t["amount"].amount),
                reference=reference.strip(),
                description=(t.get("transaction_details") or "").strip()[:255],
            )
        )
    return ParsedStatement(
        format="mt940",
        statement_ref=str(data.get("transaction_reference") or data.get("statement_number")),
        currency=str(opening.amount.currency).upper(),
        opening=_decimal(opening.amount.amount),
        closing=_decimal(closing.amount.amount),
        opening_date=_plain_date(opening.date),
        closing_date=_plain_date(closing.date),
        lines=lines,
    )


def _plain_date(value) -> date:
    """mt-940's own Date subclass, as a date every database driver takes."""
    return date(value.year, value.month, value.day)


def _camt053(content: bytes) -> ParsedStatement:
    from pycamt.parser import Camt053Parser

    parser = Camt053Parser(content)
    statements = parser.tree.findall(".//Stmt", parser.namespaces)
    if len(statements) != 1:
        raise StatementRefused(details={"file": ["Exactly one <Stmt> per file."]})
    (statement,) = statements
    balances = _camt_balances(statement, parser.namespaces)
    if "OPBD" not in balances or "CLBD" not in balances:
        raise StatementRefused(details={"file": ["Opening (OPBD) and closing (CLBD) balances."]})
    lines = []
    for entry in parser.get_transactions():
        sign = -1 if entry.get("CreditDebitIndicator") == "DBIT" else 1
        reference = entry.get("EndToEndId") or entry.get("RemittanceInformation") or ""
        if reference == "NOTPROVIDED":
            reference = ""
        lines.append(
            ParsedLine(
                value_date=_camt_date(entry.get("ValueDate") or entry.get("BookingDate")),
                amount=sign * _decimal(entry["Amount"]),
                reference=reference.strip(),
                description=(entry.get("AdditionalEntryInformation") or "").strip()[:255],
            )
        )
    ident = statement.find("Id", parser.namespaces)
    opening_amount, opening_date, currency = balances["OPBD"]
    closing_amount, closing_date, _ = balances["CLBD"]
    return ParsedStatement(
        format="camt053",
        statement_ref=ident.text if ident is not None else "",
        currency=currency,
        opening=opening_amount,
        closing=closing_amount,
        opening_date=opening_date,
        closing_date=closing_date,
        lines=lines,
    )


def _camt_balances(statement, namespaces) -> dict:
    """Each balance's signed amount, date and currency, read as decimals (pycamt's own
    balance reading goes through float for debit balances)."""
    found = {}
    for balance in statement.findall("Bal", namespaces):
        kind = balance.find("Tp/CdOrPrtry/Cd", namespaces)
        amount = balance.find("Amt", namespaces)
        sign = balance.find("CdtDbtInd", namespaces)
        when = balance.find("Dt/Dt", namespaces)
        if when is None:
            when = balance.find("Dt/DtTm", namespaces)
        if kind is None or amount is None or when is None:
            continue
        value = _decimal(amount.text) * (-1 if sign is not None and sign.text == "DBIT" else 1)
        found[kind.text] = (value, _camt_date(when.text), amount.attrib.get("Ccy", "").upper())
    return found


def _camt_date(text: str) -> date:
    if text is None:
        raise ValueError("a date is missing")
    return datetime.fromisoformat(text[:10]).date() if "T" in text else date.fromisoformat(text)
