"""WSGI entry point: the only module that builds an application at import time.

gunicorn -w 4 -b 0.0.0.0:8000 wsgi:app
"""
from portal import create_app

app = create_app()
