"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

Written by hand to match the views; tests validate it (openapi-spec-validator) and run
schemathesis against it: every status, header and body the views send must be described here.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from blog.api.blueprint import bp
from blog.api.http import cached_read, cors
from blog.api.inputs import MAX_PER_PAGE
from blog.comments.recent import MAX_RECENT
from blog.comments.submit import EMAIL_MAX, MAX_ID, NAME_MAX, URL_MAX
from blog.models import CommentStatus, PostStatus

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], required: bool = True) -> Schema:
    """An object with these members; all of them always present unless ``required`` is False."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(properties)
    return schema


STRING: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIME: Schema = {"type": "string", "format": "date-time"}
URL: Schema = {"type": "string", "format": "uri"}
TERM_REF = obj({"slug": STRING, "name": STRING, "url": URL})

POST_SUMMARY = {
    "id": ID,
    "slug": STRING,
    "title": STRING,
    "excerpt": STRING,
    "url": URL,
    "author": ref("Author"),
    "published_at": TIME,
    "updated_at": TIME,
    "primary_category": {"oneOf": [ref("CategoryRef"), {"type": "null"}]},
    "categories": {"type": "array", "items": ref("CategoryRef")},
    "tags": {"type": "array", "items": ref("TagRef")},
    "comment_count": {"type": "integer", "minimum": 0},
}
POST_DETAIL = {
    **POST_SUMMARY,
    "body_html": STRING,
    "breadcrumbs": {"type": "array", "items": ref("Breadcrumb")},
    "comments_open": {"type": "boolean"},
}
WRITER_POST = {
    **POST_DETAIL,
    "published_at": {"type": ["string", "null"], "format": "date-time"},
    "status": {"enum": [s.value for s in PostStatus]},
    "body": STRING,
}
SEARCH_HIT = {
    **POST_SUMMARY,
    "highlight": obj({"title_html": STRING, "snippet_html": STRING}),
}


def page_schema(item: Schema, extra: dict[str, Schema] | None = None) -> Schema:
    numbers = {"type": "integer", "minimum": 0}
    return obj(
        {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": numbers,
            "pages": numbers,
            **(extra or {}),
        }
    )


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {"type": "string", "description": "e.g. not_found, invalid_comment"},
                    "message": {"type": "string", "description": "for people"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "a message per invalid field or parameter",
                    },
                }
            )
        }
    ),
    "Author": obj(
        {
            "slug": {"type": "string", "description": "public slug of the author archive"},
            "display_name": STRING,
            "url": URL,
        }
    ),
    "CategoryRef": obj({**TERM_REF["properties"], "path": STRING}),
    "TagRef": TERM_REF,
    "Breadcrumb": obj({"label": STRING, "url": {"type": ["string", "null"], "format": "uri"}}),
    "PostSummary": obj(POST_SUMMARY),
    "SearchHit": obj(SEARCH_HIT),
    "Post": obj(POST_DETAIL),
    "WriterPost": obj(WRITER_POST),
    "PostList": page_schema({"anyOf": [ref("PostSummary"), ref("SearchHit")]}),
    "Comment": obj(
        {
            "id": ID,
            "parent_id": {"oneOf": [ID, {"type": "null"}]},
            "depth": {"type": "integer", "minimum": 1},
            "author": obj({"name": STRING, "url": TEXT_OR_NULL}),
            "body_html": STRING,
            "created_at": TIME,
            "url": {**URL, "description": "the permalink: redirects to its comment page"},
        }
    ),
    "CommentList": page_schema(ref("Comment")),
    "RecentComment": obj(
        {
            "id": ID,
            "author": obj({"name": STRING, "url": TEXT_OR_NULL}),
            "body_html": STRING,
            "created_at": TIME,
            "url": {**URL, "description": "the permalink: redirects to its comment page"},
            "post": obj({"slug": STRING, "title": STRING, "url": URL}),
        }
    ),
    "RecentComments": obj({"items": {"type": "array", "items": ref("RecentComment")}}),
    "CommentInput": obj(
        {
            "name": {"type": ["string", "null"], "maxLength": NAME_MAX},
            "email": {"type": ["string", "null"], "maxLength": EMAIL_MAX},
            "url": {"type": ["string", "null"], "maxLength": URL_MAX},
            "body": {"type": "string"},
            "parent_id": {"oneOf": [ID, {"type": "null"}]},
            "notify_replies": {"type": ["boolean", "null"]},
        },
        required=False,
    ),
    "CommentCreated": obj(
        {
            "id": ID,
            "status": {
                "enum": ["approved", "pending"],
                "description": "pending also when held as spam: the answer does not tell",
            },
        }
    ),
    "CommentCounts": {
        "type": "object",
        "additionalProperties": {"type": ["integer", "null"], "minimum": 0},
        "description": "each slug asked for: its approved comments, null if no published post",
    },
    "ModeratedComment": obj(
        {
            "id": ID,
            "status": {"enum": [s.value for s in CommentStatus]},
            "held_reason": STRING,
            "parent_id": {"oneOf": [ID, {"type": "null"}]},
            "post": obj({"id": ID, "slug": STRING, "title": STRING}),
            "author": obj(
                {
                    "name": STRING,
                    "email": STRING,
                    "url": TEXT_OR_NULL,
                    "ip_address": STRING,
                    "user_agent": STRING,
                }
            ),
            "body": STRING,
            "body_html": STRING,
            "created_at": TIME,
        }
    ),
    "ModerationList": page_schema(
        ref("ModeratedComment"),
        {"counts": obj({s.value: {"type": "integer", "minimum": 0} for s in CommentStatus})},
    ),
    "StatusChange": obj({"status": {"enum": [s.value for s in CommentStatus]}}),
    "PostInput": obj(
        {
            "title": STRING,
            "body": {"type": "string", "description": "Markdown"},
            "excerpt": STRING,
            "slug": {"type": "string", "description": "empty: made from the title"},
            "status": {"enum": [s.value for s in PostStatus]},
            "published_at": {
                "type": ["string", "null"],
                "description": "ISO 8601; without an offset, UTC; in the future: scheduled",
            },
            "comments_open": {"type": "boolean"},
            "categories": {"type": "array", "items": STRING, "description": "category slugs"},
            "primary_category": {"type": "string", "description": "a category slug"},
            "tags": {"type": "array", "items": STRING, "description": "tag names"},
            "author": {"type": "string", "description": "username (editors and admins)"},
        },
        required=False,
    ),
}

ERRORS = {
    400: "invalid parameters or body; `fields` says which",
    401: "no token, or a token that is not valid",
    403: "the token's user may not do this",
    404: "no such post or comment",
    405: "method not allowed",
    409: "a conflict (duplicate comment, an action that does not apply)",
    413: "the body is larger than the site accepts",
    415: "the body is not application/json",
    429: "too many requests",
    503: "the database is busy or down",
}
CACHE_HEADERS = {
    "ETag": {"schema": STRING},
    "Last-Modified": {"schema": STRING},
    "Cache-Control": {"schema": STRING},
}


def error(status: int) -> Schema:
    response: Schema = {"description": ERRORS[status], "content": {JSON: {"schema": ref("Error")}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": STRING, "required": True}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": STRING, "required": True}}
    return response


def ok(schema: Schema, description: str, status: str = "200") -> dict[str, Schema]:
    return {status: {"description": description, "content": {JSON: {"schema": schema}}}}


def cached(schema: Schema, description: str) -> dict[str, Schema]:
    found = ok(schema, description)
    found["200"]["headers"] = CACHE_HEADERS
    return {**found, "304": {"description": "not modified (If-None-Match matched)"}}


def operation(
    summary: str,
    responses: dict[str, Schema],
    errors: tuple[int, ...],
    parameters: list[Schema] | None = None,
    body: str | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> Schema:
    op: Schema = {
        "summary": summary,
        "operationId": summary.lower().replace(" ", "_").replace("'", ""),
        "responses": {**responses, **{str(code): error(code) for code in (*errors, 503)}},
    }
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    if security is not None:
        op["security"] = security
    return op


def query(name: str, schema: Schema, description: str = "") -> Schema:
    found: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        found["description"] = description
    return found


SLUG = {"name": "slug", "in": "path", "required": True, "schema": STRING}
COMMENT_ID = {"name": "comment_id", "in": "path", "required": True, "schema": ID}
PAGE = query("page", {"type": "integer", "minimum": 1}, "past the last page: 400")
PER_PAGE = query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE})
TOKEN: list[dict[str, list[str]]] = [{"bearer": []}]
TOKEN_OPTIONAL: list[dict[str, list[str]]] = [{}, {"bearer": []}]
PUBLIC: list[dict[str, list[str]]] = []


def document() -> Schema:
    read_errors = (400, 404)
    token_errors = (400, 401, 403, 404, 409, 413, 415)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Blog API",
            "version": "1",
            "description": "Posts and their comments, replies, moderation and writing. Errors "
            'are {"error": {"code", "message", "fields"}}. Times are ISO 8601 in UTC.',
        },
        "servers": [{"url": "/api/v1"}],
        "security": PUBLIC,
        "paths": {
            "/posts": {
                "get": operation(
                    "List posts",
                    cached(ref("PostList"), "published posts, newest first (by rank with q)"),
                    read_errors,
                    [
                        PAGE,
                        PER_PAGE,
                        query("category", STRING, "category slug; sub-categories included"),
                        query("tag", STRING, "tag slug"),
                        query(
                            "author",
                            STRING,
                            "an author's public slug (the author.slug of a post); a slug"
                            " with no published posts gives an empty list, not an error",
                        ),
                        query("q", STRING, "full-text search; not with the filters"),
                    ],
                ),
                "post": operation(
                    "Create a post",
                    ok(ref("WriterPost"), "created", "201"),
                    token_errors,
                    body="PostInput",
                    security=TOKEN,
                ),
            },
            "/posts/{slug}": {
                "parameters": [SLUG],
                "get": operation("Get a post", cached(ref("Post"), "a published post"), (404,)),
                "patch": operation(
                    "Update a post",
                    ok(ref("WriterPost"), "the post as saved"),
                    token_errors,
                    body="PostInput",
                    security=TOKEN,
                ),
                "delete": operation(
                    "Delete a post",
                    {"204": {"description": "deleted, with its comments"}},
                    (401, 403, 404),
                    security=TOKEN,
                ),
            },
            "/posts/{slug}/comments": {
                "parameters": [SLUG],
                "get": operation(
                    "List a post's comments",
                    cached(ref("CommentList"), "approved comments in thread order"),
                    read_errors,
                    [PAGE, PER_PAGE],
                ),
                "post": operation(
                    "Post a comment",
                    ok(ref("CommentCreated"), "stored", "201"),
                    (400, 401, 403, 404, 409, 413, 415, 429),
                    body="CommentInput",
                    security=TOKEN_OPTIONAL,
                ),
            },
            "/comments/recent": {
                "get": operation(
                    "Recent comments",
                    cached(ref("RecentComments"), "approved comments, newest first"),
                    (400,),
                    [
                        query(
                            "per_page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_RECENT},
                            "how many (default 5); not paginated",
                        )
                    ],
                ),
            },
            "/comment-counts": {
                "get": operation(
                    "Count comments",
                    cached(ref("CommentCounts"), "approved comments per slug"),
                    (400,),
                    [
                        {
                            "name": "slug",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "array", "items": STRING, "maxItems": 100},
                            "style": "form",
                            "explode": True,
                        }
                    ],
                ),
            },
            "/moderation/comments": {
                "get": operation(
                    "Moderation queue",
                    ok(ref("ModerationList"), "comments of a status, newest first"),
                    (400, 401, 403),
                    [
                        query("status", {"enum": [s.value for s in CommentStatus]}),
                        PAGE,
                        PER_PAGE,
                        query("post", STRING, "only this post's comments (slug)"),
                        query("q", STRING, "author, email, url, IP or text containing it"),
                    ],
                    security=TOKEN,
                ),
            },
            "/moderation/comments/{comment_id}": {
                "parameters": [COMMENT_ID],
                "post": operation(
                    "Set a comment's status",
                    ok(ref("ModeratedComment"), "the comment after the change"),
                    token_errors,
                    body="StatusChange",
                    security=TOKEN,
                ),
                "delete": operation(
                    "Delete a comment",
                    {"204": {"description": "deleted for good (it was in spam or trash)"}},
                    (401, 403, 404, 409),
                    security=TOKEN,
                ),
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a token from `flask blog token USERNAME`",
                }
            },
        },
    }


@bp.get("/openapi.json")
@cors("GET")
@cached_read
def openapi_document() -> Response:
    return jsonify(document())
