"""The Model dashboard with its drill-downs, the weekly review and planning."""

from django.urls import URLPattern, path

from kyogyo.analytics import views

app_name = "analytics"

urlpatterns: list[URLPattern] = [
    path("model/", views.model, name="dashboard"),
    path("model/records/", views.records, name="drilldown"),
    path("model/review/", views.weekly_review, name="review"),
    path("plans/", views.plans, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/compare/", views.plan_compare, name="plan_compare"),
    path("plans/<int:pk>/", views.plan, name="plan"),
]
