"""The Model health check: history, assessments, the fill-in form, comparing, exports."""

from django.urls import path

from kyogyo.healthcheck import views

app_name = "healthcheck"

urlpatterns = [
    path("", views.assessment_list, name="list"),
    path("new/", views.new, name="new"),
    path("compare/", views.compare, name="compare"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/health-check.xlsx", views.export_xlsx, name="xlsx"),
    path("<int:pk>/health-check.pdf", views.export_pdf, name="pdf"),
]
