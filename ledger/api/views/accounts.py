"""Accounts: list, open, detail (balances now or as of an instant), statement."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.idempotency import idempotent
from core.api.pagination import (
    PAGINATION_PARAMETERS,
    CursorPagination,
    paginated_response,
    paginated_schema,
)
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.api.schema import IDEMPOTENCY_KEY, error_responses
from ledger.api.filters import AccountFilter, filtered
from ledger.api.pagination import EntryCursorPagination
from ledger.api.schema import TAGS
from ledger.api.serializers import AccountSerializer, EntrySerializer
from ledger.selectors import account_balance, account_entries, account_get, account_list
from ledger.services import account_open


class AccountListApi(PartnerApi):
    @extend_schema(
        operation_id="ledger_accounts_list",
        parameters=[
            OpenApiParameter("asset", OpenApiTypes.STR, description="Only this asset, e.g. USD."),
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
    class InputSerializer(PrebuiltFieldsMixin, serializers.Serializer):
        asset = serializers.CharField(max_length=16)
        code = serializers.RegexField(
            r"^[A-Za-z0-9_.-]+$",
            max_length=64,
            required=False,
            help_text="A label, unique per asset among your accounts; default main.",
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
            partner=self.partner, acting_user=request.user, **payload.validated_data
        )
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountCollectionApi(AccountListApi, AccountOpenApi):
    """GET lists, POST opens: two operations sharing one path."""


class AccountDetailApi(PartnerApi):
    class FilterSerializer(PrebuiltFieldsMixin, serializers.Serializer):
        as_of = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="ledger_accounts_retrieve",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATETIME,
                description="The balances right after the last transfer at or before this "
                "instant (ISO 8601); zero before the first.",
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
