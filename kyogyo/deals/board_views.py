"""The pipeline board and each deal's page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse


@login_required
def deal(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404  # the deal page comes next
