from django.urls import path

from kyogyo.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.imports, name="list"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/progress", views.progress, name="progress"),
    path("<int:pk>/run", views.run, name="run"),
    path("<int:pk>/errors", views.error_file, name="errors"),
]
