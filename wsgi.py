"""WSGI entry point: the only module that builds an application at import time.

gunicorn -w 4 -b 0.0.0.0:8000 wsgi:app

A configuration that cannot be used (portal.config.ConfigError, an unknown time zone: both
ValueErrors, raised while the settings are read) stops the start with its message alone, no
traceback, and exit status 3, for `flask ...` commands and gunicorn alike.
"""
import sys

try:
    from portal import create_app

    app = create_app()
except ValueError as exc:
    print(f"Relance cannot start: {exc}", file=sys.stderr)
    sys.exit(3)
