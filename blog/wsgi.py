"""WSGI entry point of the installed package: ``gunicorn blog.wsgi:app``."""

from blog import create_app

app = create_app()
