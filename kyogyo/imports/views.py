from django.http import HttpRequest, HttpResponse


def imports(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
