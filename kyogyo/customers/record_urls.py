"""Each person's and company's page: the timeline across the four teams."""

from django.urls import path

from kyogyo.customers import record_views

urlpatterns = [
    path("people/<int:pk>/", record_views.contact, name="contact"),
    path("companies/<int:pk>/", record_views.account, name="account"),
]
