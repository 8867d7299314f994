"""Accounts: list, open, detail (balances now or as of an instant), statement."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.fields import PatternField
from core.api.idempotency import idempotent
from core.api.pagination import (
    PAGINATION_PARAMETERS,
    CursorPagination,
    paginated_response,
    paginated_schema,
)
from core.api.schema import IDEMPOTENCY_KEY, error_responses
from core.api.serializers import QuerySerializer, RequestSerializer
from ledger.api.filters import AccountFilter, filtered
from ledger.api.pagination import EntryCursorPagination
from ledger.api.schema import TAGS
from ledger.api.serializers import (
    AccountSerializer,
    AsOfField,
    AssetCodeField,
    EntrySerializer,
)
from ledger.selectors import account_balance, account_entries, account_get, account_list
from ledger.services import account_open


class AccountListApi(PartnerApi):
    @extend_schema(
        operation_id="ledger_accounts_list",
        parameters=[
            OpenApiParameter(
                "asset",
                {"type": "string", "minLength": 1},
                description="Only this asset, e.g. USD (any case).",
            ),
            *PAGINATION_PARAMETERS,
        ],
        responses={200: paginated_schema("PaginatedAccountList", AccountSerializer)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """The partner's accounts, newest first."""
        accounts = filtered(
            AccountFilter, params=request.query_params, queryset=account_list(partner=self.partner)
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=accounts,
            serializer_class=AccountSerializer,
            pagination_class=CursorPagination,
        )


class AccountOpenApi(PartnerApi):
    class InputSerializer(RequestSerializer):
        asset = AssetCodeField(help_text="The asset's code, any case (usd reads as USD).")
        code = PatternField(
            r"^[A-Za-z0-9_.-]+$",
            max_length=64,
            required=False,
            help_text="A label, unique per asset among your accounts. Without one the account "
            "gets a free readable code: main for the first, then e.g. usd-2.",
        )

    @extend_schema(
        operation_id="ledger_accounts_open",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AccountSerializer, **error_responses(400, 409, 422)},
        tags=TAGS,
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        """Open another account in an asset; a code already used in that asset is a 409."""
        payload = AccountOpenApi.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        account = account_open(
            partner=self.partner,
            acting_user=request.user,
            asset=payload.validated_data["asset"],
            code=payload.validated_data.get("code"),
        )
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountCollectionApi(AccountListApi, AccountOpenApi):
    """GET lists, POST opens: two operations sharing one path."""


class AccountDetailApi(PartnerApi):
    class FilterSerializer(QuerySerializer):
        as_of = AsOfField(required=False)

    @extend_schema(
        operation_id="ledger_accounts_retrieve",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATETIME,
                description="The balances right after the last transfer at or before this "
                "instant (ISO 8601); zero before the first. A date alone (2026-03-31) means "
                "the end of that business day in the firm's time zone.",
            )
        ],
        responses={200: AccountSerializer, **error_responses(404)},
        tags=TAGS,
    )
    def get(self, request, account_id, *args, **kwargs):
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        account = account_get(partner=self.partner, account_id=account_id)
        balance = account_balance(account=account, as_of=query.validated_data.get("as_of"))
        return Response(AccountSerializer(account, context={"balance": balance}).data)


class AccountEntriesApi(PartnerApi):
    """The account's statement, newest line first, each with the posted balance after it."""

    @extend_schema(
        operation_id="ledger_accounts_entries_list",
        parameters=PAGINATION_PARAMETERS,
        responses={
            200: paginated_schema("PaginatedEntryList", EntrySerializer),
            **error_responses(404),
        },
        tags=TAGS,
    )
    def get(self, request, account_id, *args, **kwargs):
        account = account_get(partner=self.partner, account_id=account_id)
        return paginated_response(
            request=request,
            view=self,
            queryset=account_entries(account=account),
            serializer_class=EntrySerializer,
            pagination_class=EntryCursorPagination,
            context={"account": account},
        )
