"""The settings pages under /settings/ (namespace ``settings``): each view lives in the app
that owns its data; this module only mounts them. The index is ``web:settings``."""

from django.urls import path

from kyogyo.analytics import settings_views as analytics
from kyogyo.api import settings_views as api
from kyogyo.handoffs import settings_views as handoffs
from kyogyo.journey import settings_views as journey
from kyogyo.org import settings_views as org
from kyogyo.scoring import settings_views as scoring
from kyogyo.webhooks import settings_views as webhooks

app_name = "settings"

urlpatterns = [
    path("users/", org.users, name="users"),
    path("users/<int:pk>/", org.user_detail, name="user"),
    path("users/<int:pk>/active", org.user_active, name="user_active"),
    path("teams/<int:pk>/", org.team_detail, name="team"),
    path("restricted/", org.restricted_fields, name="restricted_fields"),
    path("restricted/<int:pk>/remove", org.restricted_field_remove, name="restricted_field_remove"),
    path("stages/", journey.stages, name="stages"),
    path("stages/<int:pk>/", journey.stage_detail, name="stage"),
    path("rules/new/", journey.rule_editor, name="rule_new"),
    path("rules/<slug:key>/", journey.rule_editor, name="rule"),
    path("rules/<slug:key>/active", journey.rule_active, name="rule_active"),
    path("reasons/", journey.reasons, name="reasons"),
    path("reasons/<int:pk>/", journey.reason_detail, name="reason"),
    path("sla/", handoffs.sla, name="sla"),
    path("sla/stages/<int:pk>", handoffs.stage_sla, name="stage_sla"),
    path("sla/exceptions/", handoffs.add_exception, name="add_exception"),
    path("sla/exceptions/<int:pk>/remove", handoffs.remove_exception, name="remove_exception"),
    path("sla/routing/", handoffs.add_routing_rule, name="add_routing_rule"),
    path("sla/routing/<int:pk>/active", handoffs.routing_rule_active, name="routing_rule_active"),
    path("scoring/", scoring.scoring, name="scoring"),
    path("scoring/fit/<int:pk>/", scoring.fit_rule, name="fit_rule"),
    path("targets/", analytics.targets, name="targets"),
    path("targets/<int:pk>/delete", analytics.delete_target, name="delete_target"),
    path("tokens/", api.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke", api.revoke, name="revoke_token"),
    path("webhooks/", webhooks.endpoints, name="webhooks"),
    path("webhooks/<int:pk>/", webhooks.endpoint_detail, name="webhook"),
    path("webhooks/<int:pk>/active", webhooks.endpoint_active, name="webhook_active"),
    path("webhooks/<int:pk>/rotate-secret", webhooks.rotate_secret, name="rotate_secret"),
    path("webhooks/deliveries/<int:pk>/retry", webhooks.retry, name="retry_delivery"),
]
