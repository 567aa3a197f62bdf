from django.urls import path

from kyogyo.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.imports, name="list"),
]
