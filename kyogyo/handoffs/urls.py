from django.urls import path

from kyogyo.handoffs import list_views, views

app_name = "handoffs"

urlpatterns = [
    path("", list_views.handoff_list, name="list"),
    path("export/", list_views.export, name="export"),
    path("bulk/", list_views.handoffs_bulk, name="bulk"),
    path("<int:pk>/accept", views.accept, name="accept"),
    path("<int:pk>/reject", views.reject, name="reject"),
]
