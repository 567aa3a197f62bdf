from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "kyogyo.audit"
    label = "audit"
    verbose_name = "History"

    def ready(self) -> None:
        from django_q.signals import post_execute_in_worker, pre_execute

        from kyogyo.audit import context, triggers

        connection_created.connect(context.on_connection_created, dispatch_uid="kyogyo.audit.origin")
        pre_execute.connect(context.on_job_start, dispatch_uid="kyogyo.audit.job_start")
        post_execute_in_worker.connect(context.on_job_end, dispatch_uid="kyogyo.audit.job_end")
        post_migrate.connect(_install_triggers(triggers), dispatch_uid="kyogyo.audit.triggers", weak=False)


def _install_triggers(triggers):
    def install(sender, app_config, using="default", **kwargs):
        from django.db import connections

        if app_config.label != "audit":
            return  # once per migrate, after every app's tables exist
        triggers.install(connections[using])

    return install
