"""The ceiling app's settings: the least Django needs to answer JSON.

No database, no authentication, no middleware: what is left is the cost of
the server, Django's request handling and DRF's parsing and rendering, the
floor under every Autom8 endpoint.
"""

SECRET_KEY = "bench-ceiling-holds-nothing-secret"  # noqa: S105 - no sessions, no data
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.ceiling.urls"
DATABASES: dict = {}
USE_TZ = True
APPEND_SLASH = False
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
LOGGING_CONFIG = None
