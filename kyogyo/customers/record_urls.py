"""Each person's and company's page: the timeline across the four teams."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
