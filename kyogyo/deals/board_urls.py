"""The pipeline board and each deal's page."""

from django.urls import path

from kyogyo.deals import board_views

urlpatterns = [
    path("pipeline/", board_views.pipeline, name="pipeline"),
    path("deals/<int:pk>/", board_views.deal, name="deal"),
    path("deals/<int:pk>/move", board_views.move, name="deal_move"),
    path("deals/<int:pk>/win", board_views.win, name="deal_win"),
    path("deals/<int:pk>/lose", board_views.lose, name="deal_lose"),
]
