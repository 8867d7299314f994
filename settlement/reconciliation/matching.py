"""Matching a new statement's lines to ledger transfers of its bank account, in set-based
SQL passes over temporary tables (the statement's lines as parsed, loaded in one COPY; the
account's unmatched posted transfers around its period), never a loop over lines:

1. 1:1 exact: same reference, same amount, value dates within the date tolerance;
2. 1:1 within tolerance: same reference, amounts within SETTLEMENT_MATCH_AMOUNT_TOLERANCE;
3. 1:N: one line, several transfers sharing its reference that add up to it;
4. N:1: several lines sharing a reference that add up to one transfer.

A 1:1 pass takes pairs that are each other's best candidate (closest amount, then date),
again until none is left. What stays unmatched becomes breaks: a line with no transfer
(bank only) and a transfer of the period with no line (ledger only). A transfer matched
later resolves its earlier ledger-only break. Amounts are signed as the bank account sees
them: positive is money into it (a transfer debiting the house bank account).

The lines are matched before they are stored: each is then written once, with its match,
in one INSERT ... SELECT. Storing them first and setting their match afterwards cost an
UPDATE of every line (never a HOT one: `match_id` is indexed and in the open-lines index's
predicate) and twice the lines' foreign-key checks; 100,000 lines took 8 s, not 5.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger.models import Transfer
from settlement.models import BankStatement, Break, MatchedTransfer, StatementLine, StatementMatch
from settlement.services.windows import business_zone
from settlement.sql import (
    date_of,
    days_between,
    db_uuid,
    postgres,
    rows_load,
    temp_table,
    temp_table_create,
    zone_param,
)

# Every parsed line; the lines still open; the transfers still open; the pairs a pass
# found; each matched line's match. A line is known by its number until it is stored.
PARSED, LINES, TRANSFERS = "recon_parsed", "recon_lines", "recon_transfers"
PAIRS, LINE_MATCHES = "recon_pairs", "recon_line_matches"
PARSED_COLUMNS = "line_no, day, amount, reference, description"
T_LINE = StatementLine._meta.db_table
T_MATCH = StatementMatch._meta.db_table
T_MATCHED = MatchedTransfer._meta.db_table
T_BREAK = Break._meta.db_table
T_TRANSFER = Transfer._meta.db_table
ONE_TO_ONE_ROUNDS = 5


def statement_lines_match(*, statement: BankStatement, lines) -> dict[str, int]:
    """Match the `lines` of a new `statement` (tuples of line number, value date, signed
    amount in minor units, reference, description), store them with their matches, record
    breaks and the statement's matched count; returns how many lines each kind took."""
    amount_tolerance = settings.SETTLEMENT_MATCH_AMOUNT_TOLERANCE
    day_tolerance = settings.SETTLEMENT_MATCH_DATE_TOLERANCE_DAYS
    with transaction.atomic(), connection.cursor() as cursor:
        run = _Run(cursor, statement, amount_tolerance, day_tolerance)
        run.tables_create(lines)
        taken = {
            "exact": run.one_to_one("exact", amount_tolerance=0),
            "tolerance": run.one_to_one("tolerance", amount_tolerance=amount_tolerance),
            "one_to_many": run.one_to_many(),
            "many_to_one": run.many_to_one(),
        }
        run.lines_store()
        run.breaks_record()
        run.tables_drop()
        matched = sum(taken.values())  # the auto-match rate counts the passes' lines only
        BankStatement.objects.filter(pk=statement.pk).update(matched_count=matched)
    return taken


class _Run:
    def __init__(self, cursor, statement, amount_tolerance, day_tolerance):
        self.cursor = cursor
        self.statement = statement
        self.sid = statement.pk
        self.amount_tolerance = amount_tolerance
        self.days = day_tolerance
        self.now = timezone.now()

    def sql(self, statement: str, params=()):
        self.cursor.execute(statement, list(params))
        return self.cursor.rowcount

    # --- The working tables ---------------------------------------------------------------

    def tables_create(self, lines):
        zone = business_zone()
        start = self.statement.period_start - timedelta(days=self.days)
        end = self.statement.period_end + timedelta(days=self.days + 1)
        since = datetime.combine(start, time(0), tzinfo=zone)
        until = datetime.combine(end, time(0), tzinfo=zone)
        bank = db_uuid(self.statement.account_id)
        self.sql(
            temp_table_create(
                PARSED,
                "line_no INTEGER, day DATE, amount BIGINT, reference VARCHAR(255),"
                " description VARCHAR(255)",
            )
        )
        self.sql(temp_table_create(LINE_MATCHES, "line_no INTEGER, match_id BIGINT"))
        rows_load(self.cursor, PARSED, PARSED_COLUMNS, lines)
        self.sql(temp_table(LINES, f"SELECT line_no AS id, day, amount, reference FROM {PARSED}"))
        self.sql(
            temp_table(
                TRANSFERS,
                f"SELECT t.id AS id, {date_of('t.created_at')} AS day,"
                " CASE WHEN t.debit_account_id = %s THEN t.amount ELSE -t.amount END AS amount,"
                f" t.reference AS reference FROM {T_TRANSFER} t"
                " WHERE (t.debit_account_id = %s OR t.credit_account_id = %s)"
                " AND t.status = 'posted' AND t.kind IN ('single_phase', 'post_pending')"
                " AND t.created_at >= %s AND t.created_at < %s"
                f" AND NOT EXISTS (SELECT 1 FROM {T_MATCHED} m WHERE m.transfer_id = t.id)",
            ),
            [zone_param(), bank, bank, bank, since, until],
        )
        self.sql(
            temp_table(
                PAIRS,
                f"SELECT l.id AS line_id, t.id AS transfer_id, '' AS anchor, '' AS kind,"
                f" CAST(0 AS BIGINT) AS diff FROM {LINES} l, {TRANSFERS} t WHERE 1 = 0",
            )
        )
        for table, column in ((LINES, "reference"), (TRANSFERS, "reference"), (PAIRS, "line_id")):
            self.sql(f"CREATE INDEX {table}_{column} ON {table} ({column})")
        if postgres():  # temporary tables get no statistics unless asked
            for table in (PARSED, LINES, TRANSFERS):
                self.sql(f"ANALYZE {table}")

    def tables_drop(self):
        for table in (PARSED, LINES, TRANSFERS, PAIRS, LINE_MATCHES):
            self.sql(f"DROP TABLE {table}")

    # --- Passes ---------------------------------------------------------------------------

    def one_to_one(self, kind: str, *, amount_tolerance: int) -> int:
        days = days_between("l.day", "t.day")
        taken = 0
        for _round in range(ONE_TO_ONE_ROUNDS):
            found = self.sql(
                f"""INSERT INTO {PAIRS} (line_id, transfer_id, anchor, kind, diff)
                SELECT line_id, transfer_id, 'l' || line_id, %s, diff FROM (
                    SELECT l.id AS line_id, t.id AS transfer_id, l.amount - t.amount AS diff,
                        ROW_NUMBER() OVER (PARTITION BY l.id
                            ORDER BY abs(l.amount - t.amount), {days}, t.id) AS by_line,
                        ROW_NUMBER() OVER (PARTITION BY t.id
                            ORDER BY abs(l.amount - t.amount), {days}, l.id) AS by_transfer
                    FROM {LINES} l JOIN {TRANSFERS} t ON t.reference = l.reference
                    WHERE l.reference <> '' AND abs(l.amount - t.amount) <= %s
                        AND (l.amount > 0) = (t.amount > 0) AND {days} <= %s
                ) candidates WHERE by_line = 1 AND by_transfer = 1""",
                [kind, amount_tolerance, self.days],
            )
            if not found:
                break
            taken += self.pairs_apply()
        return taken

    def one_to_many(self) -> int:
        """A line whose reference no other open line has, and the transfers sharing it."""
        return self.grouped(
            one=(LINES, "l"), many=(TRANSFERS, "t"), anchor="'l' || l.id", kind="one_to_many"
        )

    def many_to_one(self) -> int:
        """Lines sharing a reference that one open transfer alone has."""
        return self.grouped(
            one=(TRANSFERS, "t"), many=(LINES, "l"), anchor="'t' || t.id", kind="many_to_one"
        )

    def grouped(self, *, one, many, anchor: str, kind: str) -> int:
        """Rows of `one` alone with their reference, against the rows of `many` that share
        it (two or more) and add up to it within the amount tolerance, their dates all
        within the date tolerance. The difference is lines minus transfers."""
        (one_table, o), (many_table, m) = one, many
        lo, hi = days_between(f"{o}.day", "g.first_day"), days_between(f"{o}.day", "g.last_day")
        diff = f"{o}.amount - g.total" if o == "l" else f"g.total - {o}.amount"
        self.sql(
            f"""INSERT INTO {PAIRS} (line_id, transfer_id, anchor, kind, diff)
            SELECT l.id, t.id, {anchor}, %s, {diff}
            FROM {one_table} {o}
            JOIN (SELECT reference, COUNT(*) AS n FROM {one_table} WHERE reference <> ''
                  GROUP BY reference) alone ON alone.reference = {o}.reference AND alone.n = 1
            JOIN (SELECT reference, SUM(amount) AS total, MIN(day) AS first_day,
                         MAX(day) AS last_day
                  FROM {many_table} WHERE reference <> '' GROUP BY reference
                  HAVING COUNT(*) > 1) g ON g.reference = {o}.reference
            JOIN {many_table} {m} ON {m}.reference = {o}.reference
            WHERE abs({o}.amount - g.total) <= %s AND {lo} <= %s AND {hi} <= %s""",
            [kind, self.amount_tolerance, self.days, self.days],
        )
        return self.pairs_apply()

    def pairs_apply(self) -> int:
        """The pairs found become matches; their lines and transfers leave the open sets."""
        self.sql(
            f"""INSERT INTO {T_MATCH} (statement_id, kind, anchor, difference, created_at)
            SELECT %s, MIN(kind), anchor, MIN(diff), %s FROM {PAIRS} GROUP BY anchor""",
            [self.sid, self.now],
        )
        lines = self.sql(  # a temporary table without indexes: appending costs little
            f"""INSERT INTO {LINE_MATCHES} (line_no, match_id)
            SELECT DISTINCT p.line_id, m.id FROM {PAIRS} p
            JOIN {T_MATCH} m ON m.anchor = p.anchor AND m.statement_id = %s""",
            [self.sid],
        )
        self.sql(
            f"""INSERT INTO {T_MATCHED} (match_id, transfer_id)
            SELECT m.id, p.transfer_id FROM (SELECT DISTINCT anchor, transfer_id FROM {PAIRS}) p
            JOIN {T_MATCH} m ON m.anchor = p.anchor AND m.statement_id = %s""",
            [self.sid],
        )
        self.sql(f"DELETE FROM {LINES} WHERE id IN (SELECT line_id FROM {PAIRS})")
        self.sql(f"DELETE FROM {TRANSFERS} WHERE id IN (SELECT transfer_id FROM {PAIRS})")
        self.sql(f"DELETE FROM {PAIRS}")
        return lines

    # --- What is left ---------------------------------------------------------------------

    def lines_store(self):
        self.sql(
            f"""INSERT INTO {T_LINE} (statement_id, line_no, value_date, amount, reference,
                description, match_id)
            SELECT %s, p.line_no, p.day, p.amount, p.reference, p.description, lm.match_id
            FROM {PARSED} p LEFT JOIN {LINE_MATCHES} lm ON lm.line_no = p.line_no
            ORDER BY p.line_no""",
            [self.sid],
        )

    def breaks_record(self):
        self.sql(
            f"""INSERT INTO {T_BREAK} (statement_id, kind, status, line_id, amount, value_date,
                resolution)
            SELECT %s, 'bank_only', 'open', id, amount, value_date, '' FROM {T_LINE}
            WHERE statement_id = %s AND match_id IS NULL""",
            [self.sid, self.sid],
        )
        self.sql(
            f"""INSERT INTO {T_BREAK} (statement_id, kind, status, transfer_id, amount,
                value_date, resolution)
            SELECT %s, 'ledger_only', 'open', t.id, t.amount, t.day, '' FROM {TRANSFERS} t
            WHERE t.day >= %s AND t.day <= %s AND NOT EXISTS (
                SELECT 1 FROM {T_BREAK} b WHERE b.transfer_id = t.id AND b.status <> 'resolved')""",
            [self.sid, self.statement.period_start, self.statement.period_end],
        )
        self.sql(  # the lines are new; a transfer may have had a break on an earlier statement
            f"""UPDATE {T_BREAK} SET status = 'resolved', resolved_at = %s,
                resolution = %s
            WHERE status = 'open' AND transfer_id IN (
                SELECT mt.transfer_id FROM {T_MATCHED} mt JOIN {T_MATCH} m ON m.id = mt.match_id
                WHERE m.statement_id = %s)""",
            [self.now, f"matched on statement {self.statement.statement_ref}", self.sid],
        )
