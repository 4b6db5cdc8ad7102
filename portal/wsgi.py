import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.embedded")
django_application = get_wsgi_application()

# WebDAV at /dav/ is served beside Django, not through its URL patterns: its
# methods and Basic challenges are not a view's, and CSRF has no place in it.
from portal.dav.app import dispatching  # noqa: E402 - needs the settings configured above

application = dispatching(django_application)
