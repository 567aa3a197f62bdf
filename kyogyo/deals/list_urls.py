"""The list of deals."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
