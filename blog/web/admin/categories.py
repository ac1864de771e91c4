"""Categories: the nested list with an "add" form, editing, and deleting with confirmation."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.models import Category
from blog.permissions import Action
from blog.posts import categories as domain
from blog.web.access import require
from blog.web.admin.blueprint import ID, SESSION_EXPIRED, actor, bp, csrf_expired
from blog.web.admin.forms import ActionForm, CategoryForm, first_errors
from blog.web.auth import csrf_failed
from blog.web.errors import render_error

FIELDS = ("name", "slug", "parent", "description")
PARENT_MESSAGE = "Choose a parent from the list."


def _typed() -> dict[str, Any]:
    return {name: request.form.get(name, "") for name in FIELDS}


def _form_problem(form: CategoryForm) -> tuple[dict[str, str], str]:
    if csrf_failed(form) or csrf_expired():
        return {}, SESSION_EXPIRED
    errors = first_errors(form)
    if "parent" in errors:
        errors["parent"] = PARENT_MESSAGE
    return errors, "The category was not saved."


def _list_page(
    values: dict[str, Any], errors: dict[str, str], message: str = "", status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "admin/categories.html",
        rows=domain.category_tree(),
        values=values,
        errors=errors,
        message=message,
        is_default=domain.is_default,
    )
    return page, status


@bp.route("/categories/", methods=["GET", "POST"])
@require(Action.MANAGE_CATEGORIES)
def categories() -> Response | tuple[str, int]:
    """GET lists them with an empty "add" form; POST adds one."""
    if request.method != "POST":
        return _list_page({}, {})
    form = CategoryForm()
    if not form.validate_on_submit():
        errors, message = _form_problem(form)
        return _list_page(_typed(), errors, message, 400)
    try:
        created = domain.create_category(
            actor(),
            form.name.data or "",
            form.slug.data or "",
            form.parent.data,
            form.description.data or "",
        )
    except domain.CategoryRejected as rejected:
        return _list_page(_typed(), rejected.fields, rejected.message, 400)
    flash(f"Category “{created.name}” added.", "success")
    return redirect(url_for("admin.categories"), 303)


def _category(category_id: int) -> Category:
    found = domain.find_category(category_id)
    if found is None:
        abort(404)
    return found


def _edit_page(
    category: Category,
    values: dict[str, Any],
    errors: dict[str, str],
    message: str = "",
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "admin/category_form.html",
        category=category,
        rows=domain.category_tree(),
        values=values,
        errors=errors,
        message=message,
        protected=domain.is_default(category),
    )
    return page, status


@bp.route(f"/categories/<{ID}:category_id>/", methods=["GET", "POST"])
@require(Action.MANAGE_CATEGORIES)
def category_edit(category_id: int) -> Response | tuple[str, int]:
    category = _category(category_id)
    if request.method != "POST":
        values = {
            "name": category.name,
            "slug": category.slug,
            "parent": str(category.parent_id or ""),
            "description": category.description,
        }
        return _edit_page(category, values, {})
    form = CategoryForm()
    if not form.validate_on_submit():
        errors, message = _form_problem(form)
        return _edit_page(category, _typed(), errors, message, 400)
    try:
        domain.update_category(
            actor(),
            category,
            form.name.data or "",
            form.slug.data or "",
            form.parent.data,
            form.description.data or "",
        )
    except domain.CategoryRejected as rejected:
        if rejected.status_code == 404:
            abort(404)
        return _edit_page(category, _typed(), rejected.fields, rejected.message, 400)
    flash("Category updated.", "success")
    return redirect(url_for("admin.categories"), 303)


@bp.route(f"/categories/<{ID}:category_id>/delete", methods=["GET", "POST"])
@require(Action.MANAGE_CATEGORIES)
def category_delete(category_id: int) -> Response | str | tuple[str | Response, int]:
    """GET asks "are you sure?"; POST deletes. "Uncategorized" answers 409 either way."""
    category = _category(category_id)
    if domain.is_default(category):
        return render_error(409, "“Uncategorized” is the default category and cannot be deleted.")
    if request.method != "POST" or not ActionForm().validate_on_submit():
        return render_template("admin/category_delete.html", category=category)
    try:
        moved = domain.delete_category(actor(), category)
    except domain.CategoryRejected as rejected:
        return render_error(rejected.status_code, rejected.message)
    note = f" {moved} post(s) moved to “Uncategorized”." if moved else ""
    flash(f"Category deleted.{note}", "success")
    return redirect(url_for("admin.categories"), 303)
