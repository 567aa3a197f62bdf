"""Each person's and company's page: the timeline across the four teams."""

from django.urls import path

from kyogyo.customers import record_views

urlpatterns = [
    path("people/<int:pk>/", record_views.contact, name="contact"),
    path("people/<int:pk>/notes", record_views.contact_note, name="contact_note"),
    path("people/<int:pk>/move", record_views.contact_move, name="contact_move"),
    path("people/<int:pk>/checks/<int:item>", record_views.contact_check, name="contact_check"),
    path("companies/<int:pk>/", record_views.account, name="account"),
    path("companies/<int:pk>/notes", record_views.account_note, name="account_note"),
]
