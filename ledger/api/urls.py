from django.urls import path

from ledger.api.views import (
    AccountCollectionApi,
    AccountDetailApi,
    AccountEntriesApi,
    TransferBatchApi,
    TransferCollectionApi,
    TransferDetailApi,
    TransferPostApi,
    TransferVoidApi,
)

urlpatterns = [
    path("accounts/", AccountCollectionApi.as_view(), name="ledger-accounts"),
    path("accounts/<api_uuid:account_id>/", AccountDetailApi.as_view(), name="ledger-account"),
    path(
        "accounts/<api_uuid:account_id>/entries/",
        AccountEntriesApi.as_view(),
        name="ledger-account-entries",
    ),
    path("transfers/", TransferCollectionApi.as_view(), name="ledger-transfers"),
    # Before transfers/<id>/: "batch" is not a UUID, but keep the literal path first anyway.
    path("transfers/batch/", TransferBatchApi.as_view(), name="ledger-transfers-batch"),
    path("transfers/<api_uuid:transfer_id>/", TransferDetailApi.as_view(), name="ledger-transfer"),
    path(
        "transfers/<api_uuid:transfer_id>/post/",
        TransferPostApi.as_view(),
        name="ledger-transfer-post",
    ),
    path(
        "transfers/<api_uuid:transfer_id>/void/",
        TransferVoidApi.as_view(),
        name="ledger-transfer-void",
    ),
]
