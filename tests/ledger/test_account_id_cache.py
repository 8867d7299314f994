"""account_id_by_code keeps the ids it found, per process, but only what committed."""

import pytest
from django.core.management import call_command
from django.db import transaction

from ledger import selectors
from ledger.selectors import account_id_by_code
from ledger.services import account_open, house_account, house_account_id


@pytest.fixture(autouse=True)
def _empty_id_cache():
    selectors._account_ids.clear()
    yield
    selectors._account_ids.clear()


def test_finds_the_partner_account_and_none_for_a_missing_one(partner, other_partner):
    mine = account_open(partner=partner, asset="USD")
    account_open(partner=other_partner, asset="USD")
    assert account_id_by_code(partner_id=partner.pk, asset="USD") == mine.pk
    assert account_id_by_code(partner_id=partner.pk, asset="EUR") is None
    assert account_id_by_code(partner_id=partner.pk, asset="USD", code="spare") is None


def test_an_id_is_kept_once_its_transaction_commits(
    partner, django_assert_num_queries, django_capture_on_commit_callbacks
):
    mine = account_open(partner=partner, asset="USD")
    with django_assert_num_queries(1):  # inside the test's transaction: read, not kept yet
        assert account_id_by_code(partner_id=partner.pk, asset="USD") == mine.pk
    with django_assert_num_queries(1):
        account_id_by_code(partner_id=partner.pk, asset="USD")
    with django_capture_on_commit_callbacks(execute=True):  # as a commit would run them
        account_id_by_code(partner_id=partner.pk, asset="USD")
    with django_assert_num_queries(0):  # kept after the commit
        assert account_id_by_code(partner_id=partner.pk, asset="USD") == mine.pk


def test_a_rolled_back_read_is_not_kept(partner, django_capture_on_commit_callbacks):
    class Undo(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                opened = account_open(partner=partner, asset="USD")
                assert account_id_by_code(partner_id=partner.pk, asset="USD") == opened.pk
                raise Undo
        except Undo:
            pass
    assert selectors._account_ids == {}
    assert account_id_by_code(partner_id=partner.pk, asset="USD") is None


def test_opening_an_account_forgets_a_stale_key(partner):
    """Only a flushed test database loses accounts; a new one under the same key wins."""
    key = (partner.pk, "USD", "main")
    selectors._account_ids[key] = "an id that no longer exists"
    opened = account_open(partner=partner, asset="USD")
    assert key not in selectors._account_ids
    assert account_id_by_code(partner_id=partner.pk, asset="USD") == opened.pk


def test_a_flush_empties_the_cache(db):
    selectors._account_ids[(None, "USD", "suspense")] = "stale"
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=False)
    assert selectors._account_ids == {}


def test_house_account_id_opens_on_first_use_and_matches_house_account(db):
    opened = house_account_id(code="suspense", asset="USD")
    assert opened == house_account(code="suspense", asset="USD").pk
    with pytest.raises(ValueError):
        house_account_id(code="never_declared", asset="USD")


def test_an_account_opened_is_kept_once_its_opening_commits(
    partner, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        opened = account_open(partner=partner, asset="USD")
    with django_assert_num_queries(0):
        assert account_id_by_code(partner_id=partner.pk, asset="USD") == opened.pk
