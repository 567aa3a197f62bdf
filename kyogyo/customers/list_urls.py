"""The lists of people and companies."""

from django.urls import path

from kyogyo.customers import list_views

urlpatterns = [
    path("people/", list_views.contacts, name="contacts"),
    path("people/export/", list_views.contacts_export, name="contacts_export"),
    path("people/bulk/", list_views.contacts_bulk, name="contacts_bulk"),
    path("companies/", list_views.accounts, name="accounts"),
    path("companies/export/", list_views.accounts_export, name="accounts_export"),
]
