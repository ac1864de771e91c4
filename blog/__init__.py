"""The blog application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from blog import cache, cli, links, resources
from blog import config as blog_config
from blog.api import routes as api
from blog.api.http import trusted_origins
from blog.cache import replay
from blog.database import (
    configure_engine_events,
    read_engine,
    server_engine_options,
    sqlite_engine_options,
)
from blog.extensions import csrf, db, limiter, login_manager, migrate
from blog.mail import outbox
from blog.web import (
    admin,
    auth,
    comments,
    discovery,
    errors,
    media,
    moderation,
    operations,
    origin,
    public,
    reader,
    request_log,
    templating,
)
from blog.web.commenter import COOKIE_NAME, REMEMBER_COOKIE

# The cookies that make a reader's page their own (their held comments, their saved details).
PERSONAL_COOKIES = (COOKIE_NAME, REMEMBER_COOKIE)


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, CLI.

    The instance folder is ``instance_path``, else ``BLOG_INSTANCE_PATH``, else the default of
    :func:`blog.resources.default_instance_path`.
    """
    environ = dict(os.environ)
    app = Flask(
        __name__,
        instance_path=instance_path or str(blog_config.instance_path(environ)),
        instance_relative_config=True,
        template_folder=str(resources.folder("templates")),
        static_folder=str(resources.folder("static")),
        static_url_path="/static",  # not the folder's name, which is _static in the wheel
    )
    _configure(app, config, environ)
    _set_up_database(app)
    _set_up_web(app)
    api.init_app(app)
    origin.init_app(app, trusted_origins)
    cli.init_app(app)
    _wrap_wsgi(app)
    return app


def _configure(app: Flask, config: dict[str, Any] | None, environ: dict[str, str]) -> None:
    """Defaults, then the instance's config.py, then BLOG_* variables, then ``config``."""
    instance = Path(app.instance_path)
    app.config.from_mapping(blog_config.defaults(instance))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(blog_config.from_environment(environ))
    if config:
        app.config.from_mapping(config)
    app.config["SECRET_KEY"] = blog_config.secret_key(app.config, instance)
    blog_config.finish(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite_engine_options(
            app.config["SQLALCHEMY_ENGINE_OPTIONS"], app.config["SQLITE_BUSY_TIMEOUT_MS"]
        )
    else:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = server_engine_options(
            app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        )


def _set_up_database(app: Flask) -> None:
    """The database and the extensions built on it, and the engine of the one raw read."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(resources.folder("migrations")), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)
        app.extensions["blog_read_engine"] = read_engine(
            db.engine,
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        )


def _set_up_web(app: Flask) -> None:
    """Templates, caching, error pages, the outbox, sign-in, and the HTML blueprints."""
    templating.init_app(app)
    cache.init_app(app, PERSONAL_COOKIES)
    errors.init_app(app)
    outbox.init_app(app)
    auth.init_app(app)
    for blueprint in (public, comments, reader, moderation, discovery, operations, admin):
        app.register_blueprint(blueprint.bp)
    media.init_app(app)  # the /media/ files and the upload request's larger body limit


def _wrap_wsgi(app: Flask) -> None:
    """The request log, the proxies' forwarded headers, and the script root of SITE_URL."""
    replay.install(app)  # cookieless readers' public pages, before Flask (inside the log)
    request_log.install(app)  # inside ProxyFix: it logs the reader's address
    if app.config["PROXY_COUNT"]:
        # Behind N reverse proxies: take the client address and scheme from X-Forwarded-*,
        # so that rate limits and the flood rule see readers, not the proxy.
        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    # The script root is SITE_URL's path for every request, never a client's SCRIPT_NAME.
    root = links.script_root(app.config.get("SITE_URL"))
    app.wsgi_app = links.FixedScriptRoot(app.wsgi_app, root)  # type: ignore[method-assign]
