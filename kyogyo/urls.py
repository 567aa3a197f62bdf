"""URL routes. The team workspaces come later; for now the admin and a health probe."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import include, path


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", lambda request: redirect("admin:index")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("intake/", include("kyogyo.intake.urls")),
]
