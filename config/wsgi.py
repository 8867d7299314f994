import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if os.environ.get("GIL_SWITCH_MS"):
    sys.setswitchinterval(float(os.environ["GIL_SWITCH_MS"]) / 1000)
application = get_wsgi_application()
