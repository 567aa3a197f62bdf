"""Customer Success: health, renewals, churn risk, expansion, NPS, MRR, new customers."""

from django.urls import path

from kyogyo.success import views

app_name = "success"

urlpatterns = [
    path("", views.home, name="home"),
    path("onboarding/", views.new_customers, name="onboarding"),
    path("onboarding/<int:pk>/", views.start_subscription, name="start_subscription"),
    path("renewals/", views.renewals_calendar, name="renewals"),
    path("risk/", views.risk, name="risk"),
    path("nps/", views.nps, name="nps"),
    path("movements/", views.movements, name="movements"),
    path("subscriptions/<int:pk>/", views.subscription, name="subscription"),
    path("subscriptions/<int:pk>/mrr/", views.change_mrr, name="change_mrr"),
    path("subscriptions/<int:pk>/renew/", views.renew, name="renew"),
    path("subscriptions/<int:pk>/churn/", views.churn, name="churn"),
    path("subscriptions/<int:pk>/expansion/", views.hand_back, name="hand_back"),
]
