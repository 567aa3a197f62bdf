"""The settings pages under /settings/ (namespace ``settings``): each view lives in the app
that owns its data; this module only mounts them. The index is ``web:settings``."""

from django.urls import path

from kyogyo.org import settings_views as org

app_name = "settings"

urlpatterns = [
    path("users/", org.users, name="users"),
    path("users/<int:pk>/", org.user_detail, name="user"),
    path("users/<int:pk>/active", org.user_active, name="user_active"),
    path("teams/<int:pk>/", org.team_detail, name="team"),
]
