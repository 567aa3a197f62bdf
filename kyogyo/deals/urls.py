"""Deals: the list (list_urls) and the pipeline board with each deal's page (board_urls),
one namespace."""

from kyogyo.deals import board_urls, list_urls

app_name = "deals"

urlpatterns = [*list_urls.urlpatterns, *board_urls.urlpatterns]
