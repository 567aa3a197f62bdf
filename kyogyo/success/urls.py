"""Customer Success: health, renewals, churn risk, expansion, NPS, MRR."""

from django.urls import URLPattern

app_name = "success"

urlpatterns: list[URLPattern] = []
