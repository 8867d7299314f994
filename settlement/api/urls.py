from django.urls import path

from settlement.api.views import BatchDetailApi, BatchListApi

urlpatterns = [
    path("batches/", BatchListApi.as_view(), name="settlement-batches"),
    path("batches/<api_uuid:batch_id>/", BatchDetailApi.as_view(), name="settlement-batch"),
]
