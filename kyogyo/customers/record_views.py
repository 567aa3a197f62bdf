"""Each person's and company's page: one timeline across the four teams."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse


@login_required
def contact(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404  # the timeline page comes next


@login_required
def account(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404  # the timeline page comes next
