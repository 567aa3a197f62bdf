"""The list of deals."""

from django.urls import path

from kyogyo.deals import list_views

urlpatterns = [
    path("deals/", list_views.deal_list, name="list"),
    path("deals/export/", list_views.export, name="export"),
    path("deals/bulk/", list_views.deals_bulk, name="bulk"),
]
