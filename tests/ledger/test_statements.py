"""Statements that add up (API /entries/): each line says what it did to the posted and to
the held money, a hold shows what became of it, a period has opening and closing balances,
and the whole period downloads as CSV. The property test sums random statements."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.models import Transfer
from ledger.services import (
    TransferRequest,
    pending_transfer_post,
    pending_transfer_void,
    pending_transfers_expire,
    transfer_create,
)

ACCOUNTS = "/api/v1/ledger/accounts/"


def _move(debit, credit, amount, **kw):
    return transfer_create(
        request=TransferRequest(
            debit_account_id=debit.pk,
            credit_account_id=credit.pk,
            amount=amount,
            asset=debit.asset_id,
            **kw,
        )
    )


def _statement(client, account, **params):
    response = client.get(f"{ACCOUNTS}{account.pk}/entries/", params)
    assert response.status_code == 200, response.content
    return response.json()


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- lines ---------------------------------------------------------------------------------


def test_each_line_says_what_it_did_to_posted_and_to_held_money(
    partner_api, alpha_usd, beta_usd, fund
):
    fund(alpha_usd, 100_000)
    hold = _move(alpha_usd, beta_usd, 10_000, pending=True)
    pending_transfer_post(pending_id=hold.pk, amount=6_000)
    _move(beta_usd, alpha_usd, 500)

    lines = _statement(partner_api, alpha_usd)["results"]

    assert [line["kind"] for line in lines] == [
        "single_phase",
        "post_pending",
        "pending",
        "single_phase",
    ]
    assert [(line["posted_delta"], line["held_delta"]) for line in lines] == [
        ("5.00", "0.00"),  # received from beta
        ("-60.00", "100.00"),  # 60.00 of the hold posted, the whole hold released
        ("0.00", "-100.00"),  # the hold reserves 100.00 to leave
        ("1000.00", "0.00"),  # the deposit
    ]
    assert [(line["posted_balance"], line["held_balance"]) for line in lines] == [
        ("945.00", "0.00"),
        ("940.00", "0.00"),
        ("1000.00", "-100.00"),
        ("1000.00", "0.00"),
    ]
    resolution, held = lines[1], lines[2]
    assert (held["status"], held["amount"]) == ("posted", "100.00")
    assert (held["posted_amount"], held["released_amount"]) == ("60.00", "40.00")
    assert (resolution["status"], resolution["amount"]) == ("posted", "60.00")
    assert (resolution["posted_amount"], resolution["released_amount"]) == ("60.00", "40.00")
    assert (lines[0]["posted_amount"], lines[0]["released_amount"]) == (None, None)


def test_the_credited_side_of_a_hold_sees_it_coming_in(
    other_partner_api, alpha_usd, beta_usd, fund
):
    fund(alpha_usd, 100_000)
    hold = _move(alpha_usd, beta_usd, 2_500, pending=True)
    pending_transfer_post(pending_id=hold.pk)

    lines = _statement(other_partner_api, beta_usd)["results"]

    assert [(line["posted_delta"], line["held_delta"]) for line in lines] == [
        ("25.00", "-25.00"),
        ("0.00", "25.00"),
    ]
    assert [(line["posted_balance"], line["held_balance"]) for line in lines] == [
        ("25.00", "0.00"),
        ("0.00", "25.00"),
    ]


def test_a_void_and_an_expiry_read_as_what_they_did(partner_api, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100_000)
    voided = _move(alpha_usd, beta_usd, 1_000, pending=True)
    void = pending_transfer_void(pending_id=voided.pk)
    expiring = _move(alpha_usd, beta_usd, 2_000, pending=True, timeout_seconds=1)
    assert pending_transfers_expire(now=expiring.expires_at) == 1

    lines = _statement(partner_api, alpha_usd)["results"]

    assert [(line["kind"], line["status"]) for line in lines] == [
        ("expire_pending", "expired"),
        ("pending", "expired"),
        ("void_pending", "voided"),
        ("pending", "voided"),
        ("single_phase", "posted"),
    ]
    assert [line["held_delta"] for line in lines[:4]] == ["20.00", "-20.00", "10.00", "-10.00"]
    assert {line["posted_delta"] for line in lines[:4]} == {"0.00"}
    assert [(line["posted_amount"], line["released_amount"]) for line in lines[:2]] == [
        ("0.00", "20.00"),
        ("0.00", "20.00"),
    ]
    # The void's own transfer record says so too, not "posted".
    detail = partner_api.get(f"/api/v1/ledger/transfers/{void.pk}/").json()
    assert (detail["kind"], detail["status"]) == ("void_pending", "voided")


def test_an_open_hold_has_no_outcome_yet(partner_api, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100_000)
    _move(alpha_usd, beta_usd, 1_000, pending=True)
    (hold, _) = _statement(partner_api, alpha_usd)["results"]
    assert (hold["status"], hold["posted_amount"], hold["released_amount"]) == (
        "pending",
        None,
        None,
    )


# --- periods -------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """A settable django.utils.timezone.now, so entries land at chosen instants."""
    state = {"now": datetime(2026, 11, 2, 9, 0, tzinfo=UTC)}
    monkeypatch.setattr("django.utils.timezone.now", lambda: state["now"])

    def _set(moment):
        state["now"] = moment

    return _set


def test_a_period_has_opening_and_closing_balances(
    partner_api, alpha_usd, beta_usd, fund, clock, settings
):
    settings.BUSINESS_TIME_ZONE = "UTC"
    clock(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    fund(alpha_usd, 100_000)
    clock(datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    hold = _move(alpha_usd, beta_usd, 10_000, pending=True)
    clock(datetime(2026, 11, 15, 10, 0, tzinfo=UTC))
    _move(alpha_usd, beta_usd, 2_000)
    clock(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    pending_transfer_void(pending_id=hold.pk)

    body = _statement(partner_api, alpha_usd, **{"from": "2026-11-01", "to": "2026-11-30"})

    assert [line["created_at"][:10] for line in body["results"]] == ["2026-11-15", "2026-11-01"]
    period = body["period"]
    assert (period["from"], period["to"]) == (
        "2026-11-01T00:00:00.000000Z",
        "2026-12-01T00:00:00.000000Z",
    )
    assert period["opening"] == {"posted": "1000.00", "held": "0.00"}
    assert period["closing"] == {"posted": "980.00", "held": "-100.00"}

    # An instant as `to` counts itself; `from` alone runs up to now.
    to_instant = _statement(partner_api, alpha_usd, to="2026-11-15T10:00:00Z")
    assert len(to_instant["results"]) == 3
    assert to_instant["period"]["closing"] == {"posted": "980.00", "held": "-100.00"}
    after = _statement(partner_api, alpha_usd, **{"from": "2026-11-15T10:00:00.000001Z"})
    assert [line["kind"] for line in after["results"]] == ["void_pending"]
    assert after["period"]["opening"] == {"posted": "980.00", "held": "-100.00"}
    assert after["period"]["closing"] == {"posted": "980.00", "held": "0.00"}
    assert after["period"]["to"] is None


def test_a_date_is_a_business_day_in_the_firms_time_zone(
    partner_api, alpha_usd, fund, clock, settings
):
    settings.BUSINESS_TIME_ZONE = "Asia/Shanghai"  # UTC+8
    clock(datetime(2026, 11, 1, 17, 0, tzinfo=UTC))  # 2 November 01:00 in Shanghai
    fund(alpha_usd, 1_000)
    assert _statement(partner_api, alpha_usd, to="2026-11-01")["results"] == []
    body = _statement(partner_api, alpha_usd, **{"from": "2026-11-02", "to": "2026-11-02"})
    assert len(body["results"]) == 1
    assert body["period"]["from"] == "2026-11-01T16:00:00.000000Z"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-11-01T25:00:00Z"}, "from"),
    ],
)
def test_a_bad_period_is_a_validation_error(partner_api, alpha_usd, params, field):
    response = partner_api.get(f"{ACCOUNTS}{alpha_usd.pk}/entries/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["details"]


def test_a_to_before_from_is_the_empty_period_at_from(partner_api, alpha_usd, fund):
    """The schema cannot say "to after from", so a reversed pair is read, not refused:
    the empty window at `from`, its opening and closing balances alike."""
    fund(alpha_usd, 1_000)
    body = _statement(partner_api, alpha_usd, **{"from": "2999-01-02", "to": "2999-01-01"})
    assert body["results"] == []
    assert body["period"]["from"] == body["period"]["to"]
    assert (
        body["period"]["opening"]
        == body["period"]["closing"]
        == {
            "posted": "10.00",
            "held": "0.00",
        }
    )


def test_bounds_at_the_ends_of_the_calendar_are_read_and_written_in_iso_8601(
    partner_api, alpha_usd
):
    early = {"from": "0800-09-02T11:15:03+14:54", "to": "9999-12-31T23:59:59.999999-05:00"}
    body = _statement(partner_api, alpha_usd, **early)
    assert body["period"]["from"] == "0800-09-01T20:21:03.000000Z"
    assert body["period"]["to"] == "9999-12-31T23:59:59.999999Z"  # clamped: all of time
    first = _statement(partner_api, alpha_usd, **{"from": "0001-01-01T00:00:00+14:00"})
    assert first["period"]["from"] == "0001-01-01T00:00:00.000000Z"


# --- CSV -----------------------------------------------------------------------------------


@pytest.mark.parametrize("ask", ["accept", "format"])
def test_the_csv_download_streams_the_whole_period_framed_by_its_balances(
    partner_api, alpha_usd, beta_usd, fund, ask
):
    fund(alpha_usd, 100_000)
    for _ in range(60):  # more than a page (50)
        _move(alpha_usd, beta_usd, 100, reference="=HYPERLINK(evil)")
    url = f"{ACCOUNTS}{alpha_usd.pk}/entries/"
    if ask == "accept":
        response = partner_api.get(url, HTTP_ACCEPT="text/csv")
    else:
        response = partner_api.get(url, {"format": "csv"})

    rows = _csv(response)

    assert "attachment" in response["Content-Disposition"]
    assert "Accept" in response["Vary"]
    assert rows[0]["kind"] == "closing_balance" and rows[-1]["kind"] == "opening_balance"
    lines = rows[1:-1]
    assert len(lines) == 61
    assert rows[0]["posted_balance"] == "940.00" and rows[-1]["posted_balance"] == "0.00"
    posted = sum(Decimal(line["posted_delta"]) for line in lines)
    assert posted == Decimal(rows[0]["posted_balance"]) - Decimal(rows[-1]["posted_balance"])
    assert lines[0]["reference"] == "'=HYPERLINK(evil)"  # never a live formula
    assert lines[0]["created_at"].endswith("Z")
    assert set(lines[0]) >= {"posted_delta", "held_delta", "held_balance", "released_amount"}


def test_csv_errors_are_the_json_envelope(partner_api, other_partner_api, alpha_usd):
    url = f"{ACCOUNTS}{alpha_usd.pk}/entries/"
    bad = partner_api.get(url, {"from": "soon"}, HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/json")
    assert bad.json()["code"] == "validation_error"
    not_yours = other_partner_api.get(url, {"format": "csv"})
    assert not_yours.status_code == 404
    assert not_yours.json()["code"] == "not_found"


def test_a_browser_accept_header_still_gets_json(partner_api, alpha_usd):
    response = partner_api.get(
        f"{ACCOUNTS}{alpha_usd.pk}/entries/", HTTP_ACCEPT="text/html,application/xhtml+xml"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_the_schema_documents_the_period_and_the_csv_download(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/ledger/accounts/{account_id}/entries/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"from", "to", "format", "cursor", "limit"} <= set(parameters)
    assert [p["name"] for p in operation["parameters"]].count("format") == 1
    assert set(parameters["format"]["schema"]["enum"]) == {"json", "csv"}
    assert "business day" in parameters["to"]["description"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}


def test_transfers_of_other_kinds_keep_their_status(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    hold = _move(alpha_usd, beta_usd, 1_000, pending=True)
    posted = pending_transfer_post(pending_id=hold.pk)
    assert posted.status == Transfer.Status.POSTED
    assert Transfer.objects.get(pk=hold.pk).status == Transfer.Status.POSTED


def test_timestamps_before_the_period_are_left_out(partner_api, alpha_usd, fund, clock):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    clock(start)
    fund(alpha_usd, 1_000)
    clock(start + timedelta(seconds=1))
    fund(alpha_usd, 2_000)
    body = _statement(partner_api, alpha_usd, **{"from": "2026-11-02T09:00:00.000001Z"})
    assert [line["posted_delta"] for line in body["results"]] == ["20.00"]
    assert body["period"]["opening"]["posted"] == "10.00"


def test_a_line_has_exactly_the_fields_the_schema_declares(partner_api, alpha_usd, fund):
    from ledger.api.serializers import EntrySerializer

    fund(alpha_usd, 100)
    (line,) = _statement(partner_api, alpha_usd)["results"]
    assert list(line) == list(EntrySerializer().fields)


def test_a_statement_read_after_a_hold_lapsed_shows_its_expiry_and_adds_up(
    partner_api, alpha_usd, beta_usd, fund
):
    """The balance stops counting a lapsed hold at once; the statement writes its expiry
    when read, so its lines and closing balance say the same before the sweep job runs."""
    from datetime import timedelta

    from django.utils import timezone

    from ledger.models import Transfer
    from ledger.services import TransferRequest, transfer_create

    fund(alpha_usd, 10_000)
    hold = transfer_create(
        partner=alpha_usd.partner,
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=2_500,
            asset="USD",
            pending=True,
            timeout_seconds=60,
        ),
    )
    Transfer.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    body = partner_api.get(f"/api/v1/ledger/accounts/{alpha_usd.pk}/entries/").json()
    balance = partner_api.get(f"/api/v1/ledger/accounts/{alpha_usd.pk}/").json()["balance"]

    newest = body["results"][0]
    assert (newest["status"], newest["held_delta"], newest["held_balance"]) == (
        "expired",
        "25.00",
        "0.00",
    )
    assert body["period"]["closing"] == {"posted": "100.00", "held": "0.00"}
    assert balance == {"posted": "100.00", "pending": "0.00", "available": "100.00"}


@pytest.mark.parametrize(
    "params",
    [{"limit": "true"}, {"cursor": "not-one-we-gave"}, {"format": ""}],
)
def test_the_csv_reads_the_page_parameters_as_the_json_does(partner_api, alpha_usd, params):
    response = partner_api.get(f"{ACCOUNTS}{alpha_usd.pk}/entries/", {"format": "csv", **params})
    # (a bad format is refused whichever representation it would have chosen)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["details"]) == set(params)
