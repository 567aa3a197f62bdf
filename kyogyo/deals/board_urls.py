"""The pipeline board and each deal's page."""

from django.urls import path

from kyogyo.deals import board_views

urlpatterns = [
    path("deals/<int:pk>/", board_views.deal, name="deal"),
]
