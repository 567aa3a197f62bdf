from django.urls import path

from kyogyo.handoffs import views

app_name = "handoffs"

urlpatterns = [
    path("<int:pk>/accept", views.accept, name="accept"),
    path("<int:pk>/reject", views.reject, name="reject"),
]
