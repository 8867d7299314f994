"""ledger.selectors.open_holds_of: each origin ref's open hold, as holds_by_origin finds it,
for a set of refs at once (settlement asks for a chunk's 500 orders)."""

import pytest

from ledger.selectors import holds_by_origin, open_holds_of
from ledger.services import HoldOperation, ledger_apply
from tests.ledger.conftest import origin_hold

pytestmark = pytest.mark.django_db


def test_each_ref_gets_its_open_hold_and_resolved_or_foreign_holds_are_left_out(
    alpha_usd, beta_usd, fund
):
    fund(alpha_usd, 10_000)
    kept = origin_hold(alpha_usd, beta_usd, 300, ref="o1")
    voided = origin_hold(alpha_usd, beta_usd, 100, ref="o2")
    shrunk = origin_hold(alpha_usd, beta_usd, 500, ref="o3")
    origin_hold(alpha_usd, beta_usd, 100, ref="o4", origin="partner_api")  # another origin's ref
    changes = ledger_apply(
        origin="settlement",
        hold_operations=[
            HoldOperation(pending_id=voided.pk, action=HoldOperation.VOID),
            HoldOperation(pending_id=shrunk.pk, action=HoldOperation.VOID, keep=200),
        ],
    ).holds
    successor = changes[1].successor

    found = open_holds_of(origin="order", origin_refs=["o1", "o2", "o3", "o4", "o5", ""])

    assert found == {"o1": (kept.pk, 300), "o3": (successor.pk, 200)}
    for ref in ("o1", "o2", "o3", "o4"):  # the same answer as the queryset, ref by ref
        wanted = list(holds_by_origin(origin="order", origin_ref=ref).values_list("id", "amount"))
        assert ([found[ref]] if ref in found else []) == [tuple(row) for row in wanted]
    assert open_holds_of(origin="order", origin_refs=[]) == {}


def test_many_refs_are_read_through_the_origin_index(alpha_usd, beta_usd, fund):
    """The (origin, origin_ref) index is partial on origin_ref <> '', and PostgreSQL proves
    an index predicate from an array of at most 100 values: past that the statement must say
    it, or every transfer is scanned (the matcher's releases asked for 200 at a time)."""
    from django.db import connection, transaction

    fund(alpha_usd, 10_000)
    held = origin_hold(alpha_usd, beta_usd, 100, ref="o7")
    refs = [f"none-{n}" for n in range(150)] + ["o7"]
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        assert open_holds_of(origin="order", origin_refs=refs) == {"o7": (held.pk, 100)}
    if connection.vendor != "postgresql":
        return
    (sql, params), *_ = [(q, p) for q, p in statements if "origin_ref = ANY" in q]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a usable index is then taken
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "transfer_origin_ref" in plan, plan
