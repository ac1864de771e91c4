"""The reference the blog is compared with: a bare Flask app with one route and a fixed page.

Served as ``bench.bare:bare_app()`` under the same gunicorn settings as the blog. It imports
nothing of the blog, so its workers' memory is Flask's alone.
"""

from __future__ import annotations

from flask import Flask

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Hello</title></head>
<body><h1>Hello</h1><p>A fixed page from a bare Flask route.</p></body>
</html>
"""


def bare_app() -> Flask:
    app = Flask(__name__)

    @app.route("/")
    def index() -> str:
        return PAGE

    return app
