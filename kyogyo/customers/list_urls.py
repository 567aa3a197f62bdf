"""The lists of people and companies."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
