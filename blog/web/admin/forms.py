"""The admin's forms: Flask-WTF for the CSRF token and for turning form text into values.

Field rules that need the database (unique slugs, existing categories, permissions) live in the
domain functions; these forms only parse. Templates show what was typed (``request.form``), so
nothing typed is lost when a form comes back with errors.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from blog.models import PostStatus, Role

# Plain values, as choices: WTForms 3.3 deprecates (value, label) tuples, the only kind that
# types-WTForms (which describes 3.2) knows; hence the `type: ignore[arg-type]` where they are used.
STATUSES = [s.value for s in PostStatus]
ROLES = [r.value for r in Role]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def optional_id(value: Any) -> int | None:
    """A select's value: "" is none, anything else must be a whole number."""
    if value in (None, ""):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise ValueError("not an id")
    return int(text)


def first_errors(form: FlaskForm) -> dict[str, str]:
    """One message per field, for display beside it."""
    return {name: str(messages[0]) for name, messages in form.errors.items() if messages}


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class PostForm(FlaskForm):
    title = StringField("Title")
    slug = StringField("Slug")
    body = TextAreaField("Text")
    excerpt = TextAreaField("Excerpt")
    categories = SelectMultipleField("Categories", coerce=int, validate_choice=False)
    primary_category = SelectField("Primary category", coerce=optional_id, validate_choice=False)
    new_category = StringField("New category")
    tags = StringField("Tags")
    status = SelectField("Status", choices=STATUSES, default="draft")  # type: ignore[arg-type]
    # types-WTForms describes WTForms 3.2; `tz` came in 3.3.
    published_at = DateTimeLocalField(  # type: ignore[call-arg]
        "Publish date", format=DATETIME_FORMATS, tz=UTC, validators=[Optional()]
    )
    comments_open = BooleanField("Allow comments")
    sticky = BooleanField("Stick to the top of the blog")
    author = SelectField("Author", coerce=optional_id, validate_choice=False)
    parent = SelectField("Parent page", coerce=optional_id, validate_choice=False)


class CategoryForm(FlaskForm):
    name = StringField("Name")
    slug = StringField("Slug")
    parent = SelectField("Parent", coerce=optional_id, validate_choice=False)
    description = TextAreaField("Description")


class NewUserForm(FlaskForm):
    username = StringField("Username")
    display_name = StringField("Display name")
    email = StringField("Email")
    role = SelectField("Role", choices=ROLES)  # type: ignore[arg-type]
    password = PasswordField("Password")


class EditUserForm(FlaskForm):
    display_name = StringField("Display name")
    email = StringField("Email")
    role = SelectField("Role", choices=ROLES)  # type: ignore[arg-type]


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password")


class ProfileForm(FlaskForm):
    display_name = StringField("Display name")
    email = StringField("Email")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
    confirm_password = PasswordField("Repeat the new password")
