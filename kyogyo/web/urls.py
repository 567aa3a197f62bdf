from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from kyogyo.web import saved_views, search, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("web:password_reset_done"),
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("web:password_reset_complete")),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("web:password_change_done")),
        name="password_change",
    ),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("me/", views.preferences, name="preferences"),
    path("language/", views.set_language, name="set_language"),
    path("settings/", views.settings_index, name="settings"),
    path("search/", search.search, name="search"),
    path("saved-views/", saved_views.create, name="saved_views"),
    path("saved-views/<int:pk>/", saved_views.change, name="saved_view"),
    path("csp-report", views.csp_report, name="csp_report"),
]
