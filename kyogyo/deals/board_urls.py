"""The pipeline board and each deal's page."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
