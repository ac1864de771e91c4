"""Posting replies (completed by the moderation issue)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("comments", __name__)


@bp.route("/blog/<slug>/comments", methods=["POST"])
def submit(slug: str) -> None:
    abort(404)
