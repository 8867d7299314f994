"""Accounts: list, open, detail (balances now or as of an instant), statement."""

from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.csv import CSVRenderer, csv_streaming_response, wants_csv
from core.api.fields import PatternField, PeriodBoundField
from core.api.filters import filtered
from core.api.idempotency import idempotent
from core.api.pagination import (
    PAGINATION_PARAMETERS,
    CursorPagination,
    paginated_response,
    paginated_schema,
)
from core.api.schema import FILTER_TEXT, IDEMPOTENCY_KEY, error_responses
from core.api.serializers import QuerySerializer, RequestSerializer
from ledger.api.filters import AccountFilter
from ledger.api.pagination import EntryCursorPagination
from ledger.api.schema import TAGS
from ledger.api.serializers import (
    AccountSerializer,
    AsOfField,
    AssetCodeField,
    EntrySerializer,
    StatementPeriodSerializer,
)
from ledger.instant import one_instant
from ledger.models import Entry
from ledger.selectors import account_balance, account_get, account_list
from ledger.services import account_open, pending_transfers_expire
from ledger.statements import (
    CSV_COLUMNS,
    Period,
    statement_balances,
    statement_entries,
    statement_line,
    statement_table,
)


class AccountListApi(PartnerApi):
    @extend_schema(
        operation_id="ledger_accounts_list",
        parameters=[
            OpenApiParameter(
                "asset",
                FILTER_TEXT,
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
    """The account's statement, newest line first: what each line did to the posted and to
    the held money, both balances after it, and the period's opening and closing balances.
    As JSON (paginated) or as CSV (the whole period, streamed)."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    class FilterSerializer(QuerySerializer):
        locals()["from"] = PeriodBoundField(required=False)  # "from" is a Python keyword
        to = PeriodBoundField(end=True, required=False)
        format = serializers.ChoiceField(choices=["json", "csv"], required=False)

        def validate(self, attrs):
            start, end = attrs.get("from"), attrs.get("to")
            if start is not None and end is not None and end < start:
                attrs["to"] = start  # a `to` before `from`: the empty period at `from`
            return attrs

    @extend_schema(
        operation_id="ledger_accounts_entries_list",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATETIME,
                description="Lines at or after this: an ISO 8601 instant "
                "(2026-11-01T00:00:00Z; no offset means UTC) or a date (2026-11-01: from the "
                "start of that business day, in the firm's time zone).",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATETIME,
                description="Lines up to and including this: an instant, or a date (its "
                "whole business day). Without it, up to now. Before `from`: an empty period.",
            ),
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["json", "csv"],
                description="csv (or `Accept: text/csv`): the whole period as one CSV file, "
                "newest line first, framed by a closing_balance and an opening_balance row; "
                "columns as the JSON line's fields. Errors are JSON whatever is asked.",
            ),
            *PAGINATION_PARAMETERS,
        ],
        responses={
            (200, "application/json"): inline_serializer(
                "PaginatedEntryList",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "period": StatementPeriodSerializer(),
                    "results": EntrySerializer(many=True),
                },
            ),
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="Columns: " + ", ".join(CSV_COLUMNS) + ".",
            ),
            **error_responses(400, 404),
        },
        tags=TAGS,
    )
    def get(self, request, account_id, *args, **kwargs):
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        account = account_get(partner=self.partner, account_id=account_id)
        # A hold past its timeout no longer holds anything: write its expiry now, so the
        # statement's lines and closing balance agree with the account's balance before the
        # sweep job gets to it.
        pending_transfers_expire(accounts=[account])
        period = Period(start=query.validated_data.get("from"), end=query.validated_data.get("to"))
        paginator = EntryCursorPagination()
        if wants_csv(request):
            paginator.parameters_check(request, model=Entry)  # read, though the CSV is whole
            response = csv_streaming_response(
                statement_table(account=account, period=period),
                filename=f"statement-{account.pk}.csv",
            )
            patch_vary_headers(response, ["Accept"])  # one URL, two representations
            return response
        with one_instant():  # the balances and the page agree
            balances = statement_balances(account=account, period=period)
            entries = statement_entries(account=account, period=period)
            page = paginator.paginate_queryset(entries, request, view=self)
        context = {"account": account}
        lines = [statement_line(entry, account=account) for entry in page]
        response = Response(
            {
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "period": StatementPeriodSerializer(
                    {"period": period, "balances": balances}, context=context
                ).data,
                "results": EntrySerializer(lines, many=True, context=context).data,
            }
        )
        patch_vary_headers(response, ["Accept"])
        return response
