"""People and companies: the lists (list_urls) and each record's page (record_urls), one
namespace. Kept in two modules so the two pages grow without touching each other."""

from kyogyo.customers import list_urls, record_urls

app_name = "customers"

urlpatterns = [*list_urls.urlpatterns, *record_urls.urlpatterns]
