"""The media library (issue 15): uploads re-encoded without their metadata, hostile files refused
with a message and never a 500, resized copies offered through srcset, who may upload and
manage what, deleting with a warning, and the files served at /media/<key>."""

from __future__ import annotations

import io
import re
import secrets
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Media, Post, PostStatus, Role, User
from blog.permissions import NotAllowed
from blog.posts import images, media
from blog.sanitize import render_markdown, sanitize_author_html, second_wall
from tests import factories
from tests.conftest import login

GPS_LATITUDE = (48.0, 51.0, 24.5)  # the Eiffel Tower, more or less
EXIF_GPS_IFD = 0x8825
EXIF_ORIENTATION = 0x0112
ROTATED_90 = 6  # "rotate 90 degrees clockwise to view"


def media_folder(app: Flask) -> Path:
    return Path(app.config["MEDIA_PATH"])


def files_in(app: Flask) -> list[Path]:
    folder = media_folder(app)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def media_count() -> int:
    return int(db.session.scalar(select(func.count(Media.id))) or 0)


def stored_bytes(app: Flask, key: str) -> bytes:
    return (media_folder(app) / key).read_bytes()


def jpeg_with_gps() -> bytes:
    """A JPEG as a phone writes it: EXIF with a GPS position, an orientation, a comment."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90
    exif[0x010F] = "PhoneMaker"
    exif[EXIF_GPS_IFD] = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (2.0, 17.0, 40.2)}
    out = io.BytesIO()
    Image.new("RGB", (800, 400), (10, 120, 200)).save(
        out, "JPEG", exif=exif, comment=b"taken at home"
    )
    return out.getvalue()


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "picture.png",
    alt_text: str = "A picture",
    json: bool = False,
) -> object:
    headers = {"Accept": "application/json"} if json else {}
    return client.post(
        "/admin/media/upload",
        data={"file": (io.BytesIO(data), filename), "alt_text": alt_text},
        content_type="multipart/form-data",
        headers=headers,
    )


# --- Re-encoding --------------------------------------------------------------------------------


def test_a_jpeg_loses_its_gps_position_and_metadata_and_is_turned_upright(app: Flask) -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as check:  # the test file does carry them
        assert check.getexif().get_ifd(EXIF_GPS_IFD)
    author = factories.make_user(Role.AUTHOR)
    stored = media.store_image(original, "IMG_0001.JPG", "A blue field", author, media.limits())
    data = stored_bytes(app, stored.key)
    assert b"Exif" not in data and b"PhoneMaker" not in data and b"taken at home" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert image.size == (400, 800)  # the orientation applied, then dropped
    assert (stored.width, stored.height, stored.mime) == (400, 800, "image/jpeg")
    assert stored.original_name == "IMG_0001.JPG" and stored.uploaded_by_id == author.id


def test_bytes_after_the_image_and_png_text_chunks_are_not_kept(app: Flask) -> None:
    out = io.BytesIO()
    info = PngInfo()
    info.add_text("Author", "Secret Name")
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(out, "PNG", pnginfo=info)
    polyglot = out.getvalue() + b"<html><script>alert(1)</script></html>"
    stored = media.store_image(polyglot, "x.png", "", None, media.limits())
    data = stored_bytes(app, stored.key)
    assert b"<script>" not in data and b"Secret Name" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGBA"


@pytest.mark.parametrize(
    ("format_name", "extension", "mime"),
    [
        ("JPEG", "jpg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_each_format_keeps_its_format_with_copies_only_narrower_than_the_original(
    app: Flask, format_name: str, extension: str, mime: str
) -> None:
    data = factories.image_bytes(1100, 550, format_name)
    stored = media.store_image(data, f"wide.{extension}", "Wide", None, media.limits())
    assert stored.key.endswith(f".{extension}") and stored.mime == mime
    assert [v["width"] for v in stored.variants] == [300, 768, 1024]
    for variant in stored.variants:
        with Image.open(media_folder(app) / variant["key"]) as image:
            assert image.format == format_name
            assert image.size == (variant["width"], variant["height"])
            assert image.height == round(550 * variant["width"] / 1100)
    small = media.store_image(
        factories.image_bytes(200, 100), "small.png", "", None, media.limits()
    )
    assert small.variants == []


def test_an_animated_gif_keeps_its_frames_and_has_no_resized_copies(app: Flask) -> None:
    frames = [Image.new("RGB", (400, 300), (i * 60, 200 - i * 60, 0)) for i in range(4)]
    out = io.BytesIO()
    frames[0].save(
        out, "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0, comment=b"hi"
    )
    stored = media.store_image(out.getvalue(), "anim.gif", "Colours", None, media.limits())
    assert stored.variants == []
    with Image.open(media_folder(app) / stored.key) as image:
        assert image.n_frames == 4
        assert image.info.get("duration") == 120


# --- Hostile files --------------------------------------------------------------------------------


def bomb_png(side: int = 30_000) -> bytes:
    """A PNG of side x side pixels that is only about a hundred kilobytes long."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


HOSTILE = {
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        "logo.svg",
        "not a JPEG, PNG, WebP or GIF",
    ),
    "html renamed .jpg": (
        b"<!doctype html><script>alert(document.cookie)</script>",
        "photo.jpg",
        "not a JPEG, PNG, WebP or GIF",
    ),
    "truncated jpeg": (jpeg_with_gps()[:2000], "cut.jpg", "damaged or cut short"),
    "empty": (b"", "empty.png", "empty"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "doc.jpg", "not a JPEG"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_is_refused_with_a_message_and_nothing_is_stored(
    app: Flask, client_as: Callable[[Role], FlaskClient], case: str
) -> None:
    data, filename, message = HOSTILE[case]
    response = upload(client_as(Role.AUTHOR), data, filename)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert media_count() == 0 and files_in(app) == []


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    data = bomb_png()
    assert len(data) < 1024 * 1024  # small on the wire; 900 million pixels once decoded
    started = time.monotonic()
    response = upload(client_as(Role.AUTHOR), data, "bomb.png", json=True)
    assert time.monotonic() - started < 5  # decoding it would take minutes and gigabytes
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "too many pixels" in response.get_json()["error"]  # type: ignore[attr-defined]
    assert media_count() == 0 and files_in(app) == []


def test_the_pixel_limit_is_the_configured_one(make_app: Callable[..., Flask]) -> None:
    app = make_app(MEDIA_MAX_PIXELS=100 * 100)
    with app.app_context():
        limits = media.limits()
        with pytest.raises(images.MediaRejected, match="at most 10,000"):
            media.store_image(factories.image_bytes(101, 100), "a.png", "", None, limits)
        assert media.store_image(factories.image_bytes(100, 100), "b.png", "", None, limits).id


def test_a_file_over_the_byte_limit_is_refused_with_413(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(MEDIA_MAX_BYTES=50_000)
    with app.app_context():
        author = factories.make_user(Role.AUTHOR)
        client = login(app.test_client(), author)
        noise = Image.frombytes("RGB", (200, 200), secrets.token_bytes(200 * 200 * 3))
        out = io.BytesIO()
        noise.save(out, "PNG")
        assert len(out.getvalue()) > 50_000  # random pixels do not compress
        response = upload(client, out.getvalue(), "big.png")
        assert response.status_code == 413  # type: ignore[attr-defined]
        assert "larger than" in response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert media_count() == 0


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
IMAGE_HEADS = [
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
]


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.tuples(st.sampled_from(IMAGE_HEADS), st.binary(max_size=2000)).map(b"".join),
        st.tuples(st.just(factories.image_bytes(20, 20)), st.integers(0, 200)).map(
            lambda t: t[0][: t[1]] + b"\x00" * 50
        ),
    ),
    filename=st.text(max_size=80),
    alt_text=st.text(max_size=200),
)
def test_random_bytes_never_make_a_server_error(
    app: Flask, users: dict[Role, User], data: bytes, filename: str, alt_text: str
) -> None:
    client = login(app.test_client(), users[Role.AUTHOR])
    response = upload(client, data, filename or "x", alt_text, json=True)
    status = response.status_code  # type: ignore[attr-defined]
    assert status in (201, 400, 413), status
    if status != 201:
        assert response.get_json()["error"]  # type: ignore[attr-defined]


# --- Who may do what ------------------------------------------------------------------------------


def test_readers_and_moderators_may_not_upload(
    app: Flask, client: FlaskClient, client_as: Callable[[Role], FlaskClient]
) -> None:
    data = factories.image_bytes()
    anonymous = upload(client, data)
    assert anonymous.status_code == 302  # type: ignore[attr-defined]
    assert "/login" in anonymous.headers["Location"]  # type: ignore[attr-defined]
    assert upload(client_as(Role.MODERATOR), data).status_code == 403  # type: ignore[attr-defined]
    assert client_as(Role.MODERATOR).get("/admin/media/").status_code == 403
    assert media_count() == 0


def test_an_author_uploads_and_sees_only_their_own_files(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    others = factories.make_media(users[Role.EDITOR], alt_text="The editor's file")
    author = client_as(Role.AUTHOR)
    response = upload(author, factories.image_bytes(), "mine.png", "My own picture")
    assert response.status_code == 303  # type: ignore[attr-defined]
    mine = db.session.scalars(select(Media).where(Media.original_name == "mine.png")).one()
    assert response.headers["Location"].endswith(f"/admin/media/{mine.id}")  # type: ignore[attr-defined]
    listing = author.get("/admin/media/").get_data(as_text=True)
    assert "My own picture" in listing and "The editor&#39;s file" not in listing
    assert media.url_of(mine, media.thumbnail_key(mine)) in listing
    assert author.get(f"/admin/media/{others.id}").status_code == 403
    assert author.post(f"/admin/media/{others.id}/delete").status_code == 403
    assert "The editor&#39;s file" in client_as(Role.ADMIN).get("/admin/media/").get_data(
        as_text=True
    )


def test_authors_manage_their_own_files_editors_everyone_s(
    app: Flask, users: dict[Role, User]
) -> None:
    item = factories.make_media(users[Role.AUTHOR])
    with pytest.raises(NotAllowed):
        media.set_alt_text(factories.make_user(Role.AUTHOR), item, "Not mine")
    with pytest.raises(NotAllowed):
        media.upload(users[Role.MODERATOR], io.BytesIO(factories.image_bytes()), "m.png")
    media.set_alt_text(users[Role.AUTHOR], item, "  A red\nbox  ")
    assert item.alt_text == "A red box"
    media.set_alt_text(users[Role.EDITOR], item, "Edited by the editor")
    media.delete_media(users[Role.ADMIN], item)
    assert media_count() == 0 and files_in(app) == []


def test_alt_text_is_asked_for_a_missing_one_warned_about(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    author = client_as(Role.AUTHOR)
    answer = upload(author, factories.image_bytes(), alt_text="", json=True)
    assert answer.status_code == 201  # type: ignore[attr-defined]
    assert answer.get_json()["warnings"] == [media.NO_ALT_WARNING]  # type: ignore[attr-defined]
    page = upload(author, factories.image_bytes(), alt_text="")
    edit = author.get(page.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "no alternative text" in edit
    item = db.session.scalars(select(Media).order_by(Media.id.desc())).first()
    assert item is not None
    saved = author.post(f"/admin/media/{item.id}", data={"alt_text": "A red box"})
    assert saved.status_code == 303
    db.session.refresh(item)
    assert item.alt_text == "A red box"
    assert "no alternative text" not in author.get(f"/admin/media/{item.id}").get_data(as_text=True)


# --- In posts -----------------------------------------------------------------------------------


def test_the_post_form_uploads_without_javascript_and_keeps_what_was_typed(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    author = client_as(Role.AUTHOR)
    form = {
        "title": "A post with a picture",
        "body": "Some text typed before the upload.",
        "status": "draft",
        "action": "upload",
        "alt_text": "A red box on white",
        "file": (io.BytesIO(factories.image_bytes()), "box.png"),
    }
    page = author.post("/admin/posts/new", data=form, content_type="multipart/form-data")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    item = db.session.scalars(select(Media)).one()
    snippet = f"![A red box on white](/media/{item.key})"
    body = re.search(r'<textarea id="f-body"[^>]*>(.*?)</textarea>', html, re.S)
    assert body is not None
    assert body[1].startswith("Some text typed before the upload.")
    assert snippet in body[1]
    assert 'value="A post with a picture"' in html
    assert "Image uploaded" in html
    assert db.session.scalar(select(func.count(Post.id))) == 0  # nothing saved but the file


def test_a_refused_upload_in_the_post_form_says_why_and_keeps_the_text(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    form = {
        "title": "Kept",
        "body": "Kept text",
        "action": "upload",
        "file": (io.BytesIO(b"<svg/>"), "x.svg"),
    }
    page = client_as(Role.AUTHOR).post(
        "/admin/posts/new", data=form, content_type="multipart/form-data"
    )
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "not a JPEG, PNG, WebP or GIF" in html and "Kept text" in html
    assert media_count() == 0


def test_the_post_form_loads_the_upload_script_from_static(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    html = client_as(Role.AUTHOR).get("/admin/posts/new").get_data(as_text=True)
    assert re.search(r'<script src="/static/media\.js[^"]*" defer></script>', html)
    assert 'enctype="multipart/form-data"' in html
    assert 'data-media-upload="/admin/media/upload"' in html


def test_a_post_shows_the_image_with_srcset_and_the_file_is_served_for_a_year(
    app: Flask, client: FlaskClient, users: dict[Role, User]
) -> None:
    item = factories.make_media(users[Role.AUTHOR], width=1600, height=800, alt_text="Wide")
    post = factories.make_post(
        users[Role.AUTHOR], title="Pictured", body=f"Look:\n\n{media.markdown_for(item)}\n"
    )
    html = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    img = re.search(r"<img [^>]*>", html.split('class="entry-content"', 1)[1])
    assert img is not None
    tag = img[0]
    stem = item.key.removesuffix(".png")
    expected = ", ".join(
        [f"/media/{stem}-{w}.png {w}w" for w in (300, 768, 1024, 1536)]
        + [f"/media/{item.key} 1600w"]
    )
    assert f'srcset="{expected}"' in tag
    assert 'sizes="(max-width: 1600px) 100vw, 1600px"' in tag
    assert 'width="1600"' in tag and 'height="800"' in tag and 'alt="Wide"' in tag
    served = client.get(f"/media/{stem}-768.png")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.size == (768, 384)
    assert client.get("/media/../instance/secret_key").status_code == 404
    assert client.get("/media/ab/notakey.png").status_code == 404


def test_an_image_of_the_library_written_as_html_gets_its_srcset_too(
    app: Flask, users: dict[Role, User]
) -> None:
    item = factories.make_media(users[Role.AUTHOR], width=1600, height=800, alt_text="Wide")
    src = media.url_of(item)
    stem = item.key.removesuffix(".png")
    source = (
        f'<figure class="aligncenter"><img class="size-large" src="{src}" alt="Wide" '
        f'width="1024" height="512" srcset="https://old.example/x.png 9w" /></figure>\n\n'
        f"Inline <img src='{src}' alt=\"Bare\"> and "
        '<img src="https://elsewhere.example/x.png" alt="Not ours">'
    )
    tags = re.findall(r"<img [^>]*>", media.render_post_body(source))
    # Shown at 1024 pixels: sizes says so; its own width and height kept; a foreign srcset gone.
    assert f"/media/{stem}-300.png 300w" in tags[0] and "old.example" not in tags[0]
    assert 'sizes="(max-width: 1024px) 100vw, 1024px"' in tags[0]
    assert 'width="1024" height="512"' in tags[0] and 'class="size-large"' in tags[0]
    assert f"/media/{item.key} 1600w" in tags[1] and 'width="1600"' in tags[1]
    assert 'sizes="(max-width: 1600px) 100vw, 1600px"' in tags[1]
    assert "srcset" not in tags[2]
    many_broken = f'<img src="{src}" alt="x>" ' + '<img "' * 20_000
    started = time.perf_counter()
    media.render_post_body(many_broken)
    assert time.perf_counter() - started < 10  # linear, not 20,000 scans to the end


def test_srcset_survives_only_for_our_own_media_addresses() -> None:
    ours = "/media/ab/" + "c" * 32
    good = f'<img src="{ours}.jpg" srcset="{ours}-300.jpg 300w, {ours}.jpg 600w" ' + (
        'sizes="(max-width: 600px) 100vw, 600px">'
    )
    assert "srcset" in sanitize_author_html(good) and "sizes" in sanitize_author_html(good)
    foreign = [
        f'<img src="{ours}.jpg" srcset="https://evil.example/a.jpg 300w">',
        f'<img src="{ours}.jpg" srcset="{ours}-300.jpg 300w, //evil.example/b.jpg 600w">',
        f'<img src="{ours}.jpg" srcset="javascript:alert(1) 300w">',
        f'<img src="https://elsewhere.example/x.jpg" srcset="{ours}-300.jpg 300w">',
    ]
    for html in foreign:
        assert "srcset" not in sanitize_author_html(html), html
    assert "sizes" not in sanitize_author_html(f'<img src="{ours}.jpg" sizes="100vw;x">')
    source = "![x](https://elsewhere.example/x.jpg)"
    attrs = {"https://elsewhere.example/x.jpg": {"srcset": "https://elsewhere.example/y.jpg 1w"}}
    assert "srcset" not in render_markdown(source, attrs)


def test_the_second_wall_checks_srcset_on_its_own() -> None:
    ours = "/media/ab/" + "c" * 32
    kept = f'<img src="{ours}.jpg" srcset="{ours}-300.jpg 300w, {ours}.jpg 600w">'
    assert second_wall(kept, author=True) == kept
    foreign = f'<img src="{ours}.jpg" srcset="https://evil.example/a.jpg 300w" sizes="1px">'
    assert second_wall(foreign, author=True) == f'<img src="{ours}.jpg">'


# --- Deleting -------------------------------------------------------------------------------------


def test_deleting_a_file_a_post_uses_warns_first_then_removes_every_copy(
    app: Flask,
    client: FlaskClient,
    users: dict[Role, User],
    client_as: Callable[[Role], FlaskClient],
) -> None:
    item = factories.make_media(users[Role.AUTHOR], width=800, height=400)
    key = item.key
    post = factories.make_post(
        users[Role.AUTHOR], title="Uses the picture", body=media.markdown_for(item)
    )
    factories.make_post(users[Role.EDITOR], title="Editor's draft", status=PostStatus.DRAFT,
                        body=f"![x](/media/{item.variants[0]['key']})")  # fmt: skip
    assert {p.title for p in media.posts_using(item)} == {"Uses the picture", "Editor's draft"}
    author = client_as(Role.AUTHOR)
    warning = author.get(f"/admin/media/{item.id}/delete").get_data(as_text=True)
    assert "used by 2 post(s)" in warning
    assert "Uses the picture" in warning
    assert "Editor&#39;s draft" not in warning and "1 other post(s)" in warning
    assert len(files_in(app)) == 3  # the original and its 300 and 768 copies
    done = author.post(f"/admin/media/{item.id}/delete")
    assert done.status_code == 303
    assert media_count() == 0 and files_in(app) == []
    assert client.get(f"/media/{key}").status_code == 404
    assert client.get(f"/blog/{post.slug}/").status_code == 200


# --- Backup ---------------------------------------------------------------------------------------


def test_the_backup_command_archives_the_media_folder_beside_the_database(
    app: Flask, users: dict[Role, User], tmp_path: Path
) -> None:
    item = factories.make_media(users[Role.AUTHOR], width=400, height=200)
    target = tmp_path / "backup.sqlite3"
    result = app.test_cli_runner().invoke(args=["blog", "backup", str(target)])
    archive = tmp_path / "backup.sqlite3.media.tar"
    assert archive.exists(), result.output
    assert re.search(r"media:? \(?2 files", result.output), result.output
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert f"media/{item.key}" in names and f"media/{item.variants[0]['key']}" in names
        restored = tmp_path / "restored"
        tar.extractall(restored, filter="data")
    assert (restored / "media" / item.key).read_bytes() == stored_bytes(app, item.key)
    if db.engine.dialect.name == "sqlite":
        assert result.exit_code == 0 and target.exists()
    else:  # the database through pg_dump, the media all the same
        assert result.exit_code != 0 and "pg_dump" in result.output


def test_an_animation_of_too_many_frames_is_refused(app: Flask) -> None:
    colours = [Image.new("RGB", (2, 2), (255 * (i % 2),) * 3) for i in range(images.MAX_FRAMES + 1)]
    out = io.BytesIO()
    colours[0].save(out, "GIF", save_all=True, append_images=colours[1:], duration=20)
    with pytest.raises(images.MediaRejected, match="frames") as refused:
        media.store_image(out.getvalue(), "long.gif", "", None, media.limits())
    assert refused.value.status_code == 413
    assert media_count() == 0 and files_in(app) == []
