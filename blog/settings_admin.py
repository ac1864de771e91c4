"""The settings page: every field of :class:`blog.settings.Settings` with its label, help and
bounds, checked all together so that a rejected form changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from blog.database import begin_write
from blog.models import User
from blog.permissions import Action, ensure
from blog.posts.authoring import clean_text
from blog.posts.menus import MenuRejected, parse_menu
from blog.settings import InvalidSetting, Settings, coerce, save_settings, zone_names


@dataclass(frozen=True)
class SettingField:
    name: str
    label: str
    kind: str  # "text", "textarea", "bool", "int", "probability", "choice" or "timezone"
    help: str = ""
    minimum: int = 0
    maximum: int = 1_000_000
    max_length: int = 200
    choices: tuple[tuple[str, str], ...] = ()


GROUPS: list[tuple[str, list[SettingField]]] = [
    (
        "Site",
        [
            SettingField("site_title", "Site title", "text", max_length=200),
            SettingField(
                "tagline", "Tagline", "text", "In a few words, what this site is about.", 0
            ),
            SettingField(
                "timezone",
                "Timezone",
                "timezone",
                "Dates on the site, in feeds and in the admin are shown in this zone, and the "
                "monthly archives follow it. Choose a city in your own time zone.",
            ),
            SettingField(
                "site_menu",
                "Menu",
                "textarea",
                "The links at the top of every page, in order: one a line, “Label | /address/”; "
                "start a line with - for a subitem. Empty: Home and Blog.",
                max_length=20_000,
            ),
        ],
    ),
    (
        "Discussion",
        [
            SettingField(
                "require_name_email", "Comment author must fill out name and email", "bool"
            ),
            SettingField("thread_comments", "Enable threaded (nested) comments", "bool"),
            SettingField(
                "thread_comments_depth",
                "Threaded comments levels deep",
                "int",
                minimum=2,
                maximum=10,
            ),
            SettingField(
                "close_comments_for_old_posts", "Automatically close comments on old posts", "bool"
            ),
            SettingField(
                "close_comments_days_old",
                "Close comments on posts older than (days)",
                "int",
                minimum=1,
                maximum=36_500,
            ),
            SettingField(
                "comments_per_page", "Top level comments per page", "int", minimum=1, maximum=1_000
            ),
            SettingField(
                "default_comments_page",
                "Comments shown first",
                "choice",
                choices=(("oldest", "Oldest first"), ("newest", "Newest first")),
            ),
            SettingField(
                "flood_interval_seconds",
                "Seconds between two comments from the same person",
                "int",
                "0 turns the flood check off.",
                maximum=86_400,
            ),
        ],
    ),
    (
        "Email me whenever",
        [
            SettingField(
                "comments_notify", "Anyone posts a comment (to the post's author)", "bool"
            ),
            SettingField("moderation_notify", "A comment is held for moderation", "bool"),
        ],
    ),
    (
        "Before a comment appears",
        [
            SettingField("comment_moderation", "Comment must be manually approved", "bool"),
            SettingField(
                "comment_previously_approved",
                "Comment author must have a previously approved comment",
                "bool",
            ),
        ],
    ),
    (
        "Comment moderation",
        [
            SettingField(
                "comment_max_links",
                "Hold a comment in the queue if it contains this many links or more",
                "int",
                maximum=100,
            ),
            SettingField(
                "moderation_keys",
                "Moderation words",
                "textarea",
                "One word, name, email, URL or IP address a line. A comment containing any of "
                "them is held in the queue.",
                max_length=20_000,
            ),
            SettingField(
                "disallowed_keys",
                "Disallowed words",
                "textarea",
                "One a line, as above. A comment containing any of them is marked as spam.",
                max_length=20_000,
            ),
        ],
    ),
    (
        "Spam filter",
        [
            SettingField(
                "spam_threshold",
                "Mark a comment as spam when its spam score is above",
                "probability",
                "A number from 0 to 1; 1 turns the filter off.",
            ),
            SettingField(
                "spam_min_examples",
                "Spam and approved comments the filter must have learned from, of each, first",
                "int",
                minimum=1,
            ),
        ],
    ),
    (
        "Privacy",
        [
            SettingField(
                "ip_retention_days",
                "Shorten commenters' IP addresses after (days)",
                "int",
                "0 keeps them. flask blog purge shortens older ones to /24 (IPv4) or /48 (IPv6).",
                maximum=36_500,
            ),
        ],
    ),
    (
        "Commenters",
        [
            SettingField(
                "comment_edit_window_minutes",
                "Commenters may edit or delete their comment for (minutes)",
                "int",
                "0 turns editing off. An edit of an approved comment goes through moderation.",
                maximum=10_080,
            ),
            SettingField(
                "report_hold_threshold",
                "Hold an approved comment for moderation after this many reports",
                "int",
                "0 never holds one; reports are counted in the queue all the same.",
                maximum=1_000,
            ),
            SettingField(
                "require_email_confirmation",
                "Anonymous commenters must confirm their email address by a mailed link",
                "bool",
                "Unconfirmed comments are deleted after 7 days by flask blog purge.",
            ),
            SettingField(
                "show_gravatar",
                "Show Gravatar pictures",
                "bool",
                "Readers' browsers then ask gravatar.com for them. Off: pictures are drawn here.",
            ),
        ],
    ),
]

FIELDS: dict[str, SettingField] = {f.name: f for _, group in GROUPS for f in group}


class SettingsRejected(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("The settings were not saved: please correct the marked fields.")
        self.message = str(self)
        self.fields = fields


def timezone_choices() -> list[tuple[str, str]]:
    """The zones the setting offers: UTC first, then every zone by name."""
    names = sorted(zone_names() - {"UTC"})
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


def form_values(settings: Settings) -> dict[str, str]:
    """The stored settings as the form shows them."""
    values: dict[str, str] = {}
    for name, value in asdict(settings).items():
        values[name] = ("on" if value else "") if isinstance(value, bool) else str(value)
    return values


def _check(spec: SettingField, raw: str) -> object:
    if spec.kind == "bool":
        return coerce(spec.name, raw)
    if spec.kind == "int":
        text = raw.strip()
        if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 9:
            raise InvalidSetting("Enter a whole number.")
        value = int(text)
        if not spec.minimum <= value <= spec.maximum:
            raise InvalidSetting(f"Enter a number from {spec.minimum} to {spec.maximum}.")
        return value
    if spec.kind in {"probability", "timezone"}:
        return coerce(spec.name, raw)
    if spec.kind == "choice":
        if raw not in {key for key, _ in spec.choices}:
            raise InvalidSetting("Choose one of the options.")
        return raw
    return _checked_text(spec, raw)


def _checked_text(spec: SettingField, raw: str) -> str:
    text = clean_text(raw, keep_newlines=spec.kind == "textarea")
    text = text.strip() if spec.kind == "text" else text.replace("\r\n", "\n")
    if len(text) > spec.max_length:
        raise InvalidSetting(f"At most {spec.max_length:,} characters.")
    if spec.name == "site_title" and not text:
        raise InvalidSetting("The site needs a title.")
    if spec.name == "site_menu":
        try:
            parse_menu(text)
        except MenuRejected as rejected:
            raise InvalidSetting(str(rejected)) from None
    return text


def update_settings(actor: User, form: Mapping[str, str]) -> Settings:
    """Save the whole settings form (an unticked box is off), or nothing at all.

    Raises NotAllowed, or SettingsRejected with a message for each bad field.
    """
    ensure(actor, Action.MANAGE_SETTINGS)
    clean: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, spec in FIELDS.items():
        try:
            clean[name] = _check(spec, form.get(name, ""))
        except InvalidSetting as error:
            errors[name] = str(error)
    if errors:
        raise SettingsRejected(errors)
    begin_write()
    return save_settings(clean)
