"""The media files at ``/media/<key>``, and the larger request bodies that uploads need.

In production nginx serves ``/media/`` from the media folder itself (deploy/nginx/blog.conf);
this view answers the same, for development and for a site without nginx. A key is never
reused (blog.posts.media.new_key), so an answer may be kept for a year.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, request
from flask import Request as FlaskRequest
from werkzeug.wrappers import Response

from blog.posts import images, media
from blog.posts.media_storage import BadKey, checked_key

bp = Blueprint("media", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
MIME_TYPES = {extension: mime for mime, extension in images.FORMATS.values()}
# The views whose form carries a file: their bodies may be as large as a file and the form.
UPLOAD_ENDPOINTS = frozenset({"admin.media_upload", "admin.post_new", "admin.post_edit"})
FORM_ALLOWANCE = 1024 * 1024  # the post form's other fields, beside the file


@bp.route("/media/<path:key>")
def file(key: str) -> Response:
    try:
        checked_key(key)
    except BadKey:
        abort(404)
    try:
        with media.storage().open(key) as handle:
            data = handle.read()  # at most MEDIA_MAX_BYTES; nginx serves them in production
    except FileNotFoundError:
        abort(404)
    response = Response(data, mimetype=MIME_TYPES[key.rpartition(".")[2]])
    response.set_etag(key.replace("/", "-"))  # a key always names the same bytes
    response.make_conditional(request)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class UploadRequest(FlaskRequest):
    """A request whose body may be larger on the upload views: MAX_CONTENT_LENGTH (1 MiB) stays
    the limit everywhere else. Read before any form parsing (the CSRF check's included)."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.endpoint in UPLOAD_ENDPOINTS:
            return int(current_app.config["MEDIA_MAX_BYTES"]) + FORM_ALLOWANCE
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def init_app(app: Flask) -> None:
    app.request_class = UploadRequest
    app.register_blueprint(bp)
