from django.urls import path

from kyogyo.intake import views

app_name = "intake"

urlpatterns = [
    path("forms/<slug:key>", views.form_fill, name="form"),
    path("hooks/<slug:key>", views.hook, name="hook"),
]
