"""WSGI entry point (used by ``kyogyo serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyogyo.settings")
application = get_wsgi_application()
