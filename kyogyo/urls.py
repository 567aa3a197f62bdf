"""URL routes: the team workspaces (each app its own), the admin, the REST API, intake and a health probe."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from kyogyo.api.site import api


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt  # a JSON 404 for every method; nothing to protect
def api_not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Paths under /api/ that name no operation answer in the API's error format."""
    error = {"code": "not_found", "message": f"no API operation at /api/{rest}", "details": []}
    return JsonResponse({"error": error}, status=404)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>[\s\S]*)$", api_not_found),  # [\s\S]: a path may hold a line break
    path("intake/", include("kyogyo.intake.urls")),
    path("handoffs/", include("kyogyo.handoffs.urls")),
    path("settings/", include("kyogyo.web.settings_urls")),
    path("imports/", include("kyogyo.imports.urls")),
    path("success/", include("kyogyo.success.urls")),
    path("health-check/", include("kyogyo.healthcheck.urls")),
    path("", include("kyogyo.customers.urls")),  # /people/, /companies/
    path("", include("kyogyo.deals.urls")),  # /deals/, /pipeline/
    path("", include("kyogyo.analytics.urls")),  # /model/, /plans/
    path("", include("kyogyo.web.urls")),
]
