"""The Model dashboard with its drill-downs, the weekly review and planning."""

from django.urls import URLPattern

app_name = "analytics"

urlpatterns: list[URLPattern] = []
