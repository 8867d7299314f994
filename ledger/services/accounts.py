"""Accounts: opening, the house accounts apps declare, freezing and closing."""

import itertools
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from core.errors import ValidationFailed
from core.services import audit_record, snapshot
from ledger import errors
from ledger.locking import account_lock
from ledger.models import Account, Asset
from ledger.selectors import account_id_by_code


@transaction.atomic
def account_open(
    *,
    partner,
    asset: Asset | str,
    code: str | None = "main",
    kind: str = Account.Kind.LIABILITY,
    debits_must_not_exceed_credits: bool | None = None,
    credits_must_not_exceed_debits: bool = False,
    acting_user=None,
) -> Account:
    """Open an account. A partner's account may never go below zero unless told otherwise.
    `code=None` picks a free readable one: `main`, then `usd-2`, `usd-3`..."""
    asset_code = asset.code if isinstance(asset, Asset) else asset
    if not Asset.objects.filter(code=asset_code).exists():
        raise ValidationFailed(details={"asset": [f"Unknown asset {asset_code!r}."]})
    if debits_must_not_exceed_credits is None:
        debits_must_not_exceed_credits = partner is not None
    if code is None:
        for _attempt in range(5):  # a concurrent open may take the code we picked
            try:
                return account_open(
                    partner=partner,
                    asset=asset_code,
                    code=_account_code_free(partner=partner, asset_code=asset_code),
                    kind=kind,
                    debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                    credits_must_not_exceed_debits=credits_must_not_exceed_debits,
                    acting_user=acting_user,
                )
            except errors.AccountStatusConflict:
                continue
        raise errors.AccountStatusConflict(
            "Could not pick a free account code; retry.", details={"reason": "account_exists"}
        )
    exists = errors.AccountStatusConflict(
        f"An account {code!r} in {asset_code} already exists.",
        details={"reason": "account_exists"},
    )
    if Account.objects.filter(partner=partner, asset_id=asset_code, code=code).exists():
        raise exists
    try:
        with transaction.atomic():  # a concurrent open of the same code loses here
            account = Account.objects.create(
                partner=partner,
                asset_id=asset_code,
                code=code,
                kind=kind,
                debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=credits_must_not_exceed_debits,
            )
    except IntegrityError as exc:
        raise exists from exc
    audit_record(
        actor=acting_user, action="account.opened", target=account, after=snapshot(account)
    )
    return account


def _account_code_free(*, partner, asset_code: str) -> str:
    taken = set(
        Account.objects.filter(partner=partner, asset_id=asset_code).values_list("code", flat=True)
    )
    if "main" not in taken:
        return "main"
    candidates = (f"{asset_code.lower()}-{n}" for n in itertools.count(2))
    return next(code for code in candidates if code not in taken)


# --- House accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseAccountSpec:
    code: str
    kind: str
    description: str


_HOUSE_ACCOUNTS: dict[str, HouseAccountSpec] = {}


def house_account_declare(*, code: str, kind: str, description: str) -> HouseAccountSpec:
    """Declare a house account an app needs (at import or in its AppConfig.ready). Declaring
    the same code again with the same terms is harmless; with other terms, an error."""
    spec = HouseAccountSpec(code=code, kind=kind, description=description)
    declared = _HOUSE_ACCOUNTS.setdefault(code, spec)
    if declared != spec:
        raise ValueError(f"House account {code!r} is already declared as {declared}.")
    return spec


def house_accounts_declared() -> dict[str, HouseAccountSpec]:
    return dict(_HOUSE_ACCOUNTS)


# The ledger's own.
house_account_declare(
    code="settlement_bank", kind=Account.Kind.ASSET, description="Cash at the settlement bank"
)
house_account_declare(code="fee_income", kind=Account.Kind.INCOME, description="Fees earned")
house_account_declare(
    code="suspense",
    kind=Account.Kind.LIABILITY,
    description="Unmatched money awaiting investigation",
)


def house_account(*, code: str, asset: Asset | str, acting_user=None) -> Account:
    """The firm's declared account `code` in `asset`, opened on first use."""
    spec = _HOUSE_ACCOUNTS.get(code)
    if spec is None:
        raise ValueError(f"No house account {code!r} is declared (house_account_declare).")
    asset_code = asset.code if isinstance(asset, Asset) else asset
    found = Account.objects.filter(partner=None, asset_id=asset_code, code=code).first()
    if found is not None:
        return found
    try:
        return account_open(
            partner=None, asset=asset_code, code=code, kind=spec.kind, acting_user=acting_user
        )
    except errors.AccountStatusConflict:  # opened by a concurrent first use
        return Account.objects.get(partner=None, asset_id=asset_code, code=code)


def house_account_id(*, code: str, asset: Asset | str, acting_user=None):
    """house_account's id, without a query once this process has seen it
    (ledger.selectors.account_id_by_code): for paths that only name the account."""
    if code not in _HOUSE_ACCOUNTS:
        raise ValueError(f"No house account {code!r} is declared (house_account_declare).")
    asset_code = asset.code if isinstance(asset, Asset) else asset
    found = account_id_by_code(partner_id=None, asset=asset_code, code=code)
    if found is None:
        found = house_account(code=code, asset=asset_code, acting_user=acting_user).pk
    return found


def house_accounts_ensure(*, asset: Asset | str, acting_user=None) -> dict[str, Account]:
    """Every declared house account in `asset`, opened on first use."""
    asset_code = asset.code if isinstance(asset, Asset) else asset
    found = {a.code: a for a in Account.objects.filter(partner=None, asset_id=asset_code)}
    for code in _HOUSE_ACCOUNTS:
        if code not in found:
            found[code] = house_account(code=code, asset=asset_code, acting_user=acting_user)
    return found


# --- Status --------------------------------------------------------------------------------

_STATUS_TRANSITIONS = {
    (Account.Status.OPEN, Account.Status.FROZEN),
    (Account.Status.FROZEN, Account.Status.OPEN),
    (Account.Status.OPEN, Account.Status.CLOSED),
    (Account.Status.FROZEN, Account.Status.CLOSED),
}
# Audit action names are `<thing>.<what happened>`, in the past tense.
_STATUS_EVENTS = {
    (Account.Status.OPEN, Account.Status.FROZEN): "account.frozen",
    (Account.Status.FROZEN, Account.Status.OPEN): "account.unfrozen",
    (Account.Status.OPEN, Account.Status.CLOSED): "account.closed",
    (Account.Status.FROZEN, Account.Status.CLOSED): "account.closed",
}


def _account_status_set(*, account: Account, status: str, acting_user, reason: str) -> Account:
    with transaction.atomic():
        locked = account_lock(account.pk)
        if (locked.status, status) not in _STATUS_TRANSITIONS:
            raise errors.AccountStatusConflict(
                f"Cannot go from {locked.status} to {status}.",
                details={"status": locked.status},
            )
        if status == Account.Status.CLOSED and (
            locked.debits_pending or locked.credits_pending or locked.posted_balance
        ):
            raise errors.AccountNotEmpty()
        before = {"status": locked.status}
        locked.status = status
        locked.save(update_fields=["status"])
        audit_record(
            actor=acting_user,
            action=_STATUS_EVENTS[(before["status"], status)],
            target=locked,
            before=before,
            after={"status": status, "reason": reason},
        )
    account.status = status
    return locked


def account_freeze(*, account: Account, acting_user, reason: str = "") -> Account:
    return _account_status_set(
        account=account, status=Account.Status.FROZEN, acting_user=acting_user, reason=reason
    )


def account_unfreeze(*, account: Account, acting_user, reason: str = "") -> Account:
    return _account_status_set(
        account=account, status=Account.Status.OPEN, acting_user=acting_user, reason=reason
    )


def account_close(*, account: Account, acting_user, reason: str = "") -> Account:
    return _account_status_set(
        account=account, status=Account.Status.CLOSED, acting_user=acting_user, reason=reason
    )
