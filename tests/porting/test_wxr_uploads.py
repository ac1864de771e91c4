"""Moving from WordPress keeps every picture (issue 16): ``import-wxr FILE --uploads DIR`` brings
the attachments' images from a copy of ``wp-content/uploads`` into the media library, the
content shows them from their new address with a srcset, the old upload addresses answer 301
to the files, files missing or refused are listed and never fatal, and a second run adds
nothing. Sticky posts come first on the home page.

The fixture ``fixtures/wordpress-uploads.xml`` has an image with its resized copies (in its
metadata) and an alternative text, a big image WordPress scaled (``-scaled``) by an author the
export does not list, a PDF, a file missing from the folder, one whose path leaves the folder,
and posts that show them by absolute, ``www.``, root-relative and resized-copy addresses.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Media, Post, PostStatus, Redirect, User, utcnow
from blog.porting.wxr_media import UploadMap, alt_text, attachments
from blog.porting.wxr_read import WxrItem, read_wxr
from tests import factories
from tests.paths import FIXTURES

UPLOADS_SITE = FIXTURES / "wordpress-uploads.xml"
OLD = "https://old.example.org"
PHOTO = "/wp-content/uploads/2023/05/photo.jpg"
VIEW = "/wp-content/uploads/2023/06/view-scaled.jpg"


def image_bytes(width: int, height: int, color: str, format_name: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format_name)
    return buffer.getvalue()


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """A copy of the old site's wp-content/uploads, made here: two images, a PDF; gone.jpg
    missing; and an image next to the folder that the export's ``../outside.jpg`` names."""
    folder = tmp_path / "uploads"
    (folder / "2023" / "05").mkdir(parents=True)
    (folder / "2023" / "06").mkdir(parents=True)
    (folder / "2023" / "05" / "photo.jpg").write_bytes(image_bytes(1200, 800, "red"))
    (folder / "2023" / "06" / "view-scaled.jpg").write_bytes(image_bytes(1600, 600, "blue"))
    (folder / "2023" / "06" / "menu.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n")
    (tmp_path / "outside.jpg").write_bytes(image_bytes(50, 50, "green"))
    return folder


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["blog", *args])
    db.session.expire_all()
    return result


def import_site(app: Flask, uploads: Path | None, *options: str) -> Any:
    extra = ("--uploads", str(uploads)) if uploads is not None else ()
    result = run(app, "import-wxr", str(UPLOADS_SITE), *extra, *options)
    assert result.exit_code == 0, result.output
    return result


def media_by_name() -> dict[str, Media]:
    return {m.original_name: m for m in db.session.scalars(select(Media))}


def media_files(app: Flask) -> list[Path]:
    folder = Path(app.config["MEDIA_PATH"])
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def post(slug: str) -> Post:
    return db.session.scalars(select(Post).where(Post.slug == slug)).one()


def image_tags(page: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", page)


def test_the_images_come_into_the_media_library(app: Flask, uploads: Path) -> None:
    result = import_site(app, uploads)
    found = media_by_name()
    assert sorted(found) == ["photo.jpg", "view-scaled.jpg"]
    photo, view = found["photo.jpg"], found["view-scaled.jpg"]
    assert (photo.width, photo.height, photo.mime) == (1200, 800, "image/jpeg")
    assert [v["width"] for v in photo.variants] == [300, 768, 1024]
    assert photo.origin == "old.example.org" + PHOTO
    # The alternative text WordPress had; else the title, unless it is only the file's name.
    assert photo.alt_text == "A red square"
    assert view.alt_text == "A wide view"
    alice = db.session.scalars(select(User).where(User.username == "alice")).one()
    assert photo.uploaded_by_id == alice.id
    assert view.uploaded_by_id is None  # "ghost" is not among the export's authors
    for media in (photo, view):
        for key in (media.key, *(v["key"] for v in media.variants)):
            assert (Path(app.config["MEDIA_PATH"]) / key).is_file()
    output = result.output
    assert "media: 2 imported, 0 already there" in output
    assert "file left out: 2023/06/menu.pdf: not a JPEG, PNG, WebP or GIF image" in output
    assert "file left out: 2023/06/gone.jpg: missing from the uploads folder" in output
    assert "file left out: ../outside.jpg: missing from the uploads folder" in output
    assert "'attachment'" not in output  # brought in, not skipped


def test_content_shows_the_media_with_their_srcset(
    app: Flask, client: FlaskClient, uploads: Path
) -> None:
    import_site(app, uploads)
    found = media_by_name()
    photo, view = (f"/media/{found[n].key}" for n in ("photo.jpg", "view-scaled.jpg"))
    page = client.get("/blog/pictures/").get_data(as_text=True)
    tags = image_tags(page)
    # The original, the resized copy in a caption (and its link), the www. address of a
    # resized copy of the scaled image: all the original's media address, with a srcset.
    assert f'src="{photo}"' in tags[0] and f"{photo.removesuffix('.jpg')}-300.jpg 300w" in tags[0]
    assert 'sizes="(max-width: 1200px) 100vw, 1200px"' in tags[0]
    assert f'src="{photo}"' in tags[1] and 'sizes="(max-width: 300px) 100vw, 300px"' in tags[1]
    assert f'<a href="{photo}">' in page
    assert f'src="{view}"' in tags[2] and "srcset=" in tags[2]
    # What did not come, or is another site's, is left as it was.
    assert f'href="{OLD}/wp-content/uploads/2023/06/menu.pdf"' in page
    assert f'href="{OLD}/wp-content/uploads/2023/06/gone.jpg"' in page
    assert 'src="https://other.example.com/wp-content/uploads/2023/05/photo.jpg"' in tags[3]
    assert "srcset" not in tags[3]
    later = client.get("/blog/later-news/").get_data(as_text=True)
    assert f'src="{view}"' in later and "srcset=" in later
    assert "/wp-content/uploads/" not in post("later-news").body_source
    assert client.get(photo).status_code == 200


@pytest.mark.parametrize(
    ("old", "name"),
    [
        (PHOTO, "photo.jpg"),
        ("/wp-content/uploads/2023/05/photo-300x200.jpg", "photo.jpg"),  # its metadata's sizes
        ("/wp-content/uploads/2023/05/photo-1024x683.jpg", "photo.jpg"),
        (VIEW, "view-scaled.jpg"),
        ("/wp-content/uploads/2023/06/view.jpg", "view-scaled.jpg"),  # the original image
        ("/wp-content/uploads/2023/06/view-300x113.jpg", "view-scaled.jpg"),
    ],
)
def test_old_upload_addresses_answer_301_to_the_file(
    app: Flask, client: FlaskClient, uploads: Path, old: str, name: str
) -> None:
    import_site(app, uploads)
    response = client.get(old)
    assert response.status_code == 301
    assert response.headers["Location"] == f"/media/{media_by_name()[name].key}"
    file = client.get(response.headers["Location"])
    assert file.status_code == 200 and file.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(file.data)).size == (
        (1200, 800) if name == "photo.jpg" else (1600, 600)
    )


def test_files_left_out_keep_answering_404(app: Flask, client: FlaskClient, uploads: Path) -> None:
    import_site(app, uploads)
    assert client.get("/wp-content/uploads/2023/06/gone.jpg").status_code == 404
    assert client.get("/wp-content/uploads/2023/06/menu.pdf").status_code == 404


def test_import_again_adds_nothing(app: Flask, client: FlaskClient, uploads: Path) -> None:
    import_site(app, uploads)
    files = media_files(app)
    bodies = {p.slug: p.body_source for p in db.session.scalars(select(Post))}
    redirects = db.session.scalar(select(func.count(Redirect.id)))
    again = import_site(app, uploads)
    assert "media: 0 imported, 2 already there" in again.output
    assert "redirects: 0 imported" in again.output
    assert "links to uploads rewritten in content: 0" in again.output
    assert "file left out: 2023/06/gone.jpg: missing from the uploads folder" in again.output
    assert media_files(app) == files
    assert db.session.scalar(select(func.count(Media.id))) == 2
    assert db.session.scalar(select(func.count(Redirect.id))) == redirects
    assert {p.slug: p.body_source for p in db.session.scalars(select(Post))} == bodies


def test_without_uploads_attachments_are_skipped_and_a_later_run_brings_them(
    app: Flask, client: FlaskClient, uploads: Path
) -> None:
    first = import_site(app, None)
    assert "skipped: 5 item(s) of type or status 'attachment'" in first.output
    assert "media:" not in first.output
    assert db.session.scalar(select(func.count(Media.id))) == 0
    assert f'src="{OLD}{PHOTO}"' in client.get("/blog/pictures/").get_data(as_text=True)

    second = import_site(app, uploads)
    assert "media: 2 imported" in second.output
    photo = f"/media/{media_by_name()['photo.jpg'].key}"
    page = client.get("/blog/pictures/").get_data(as_text=True)
    assert f'src="{photo}"' in page and "srcset=" in page
    assert client.get(PHOTO).headers["Location"] == photo


def test_a_failed_import_stores_no_file(app: Flask, uploads: Path, tmp_path: Path) -> None:
    # A post nested past the sanitizer's limit fails the import after the files were made.
    broken = UPLOADS_SITE.read_text().replace("The newest post.", "<div>" * 1200)
    export = tmp_path / "broken.xml"
    export.write_text(broken)
    result = run(app, "import-wxr", str(export), "--uploads", str(uploads))
    assert result.exit_code == 1
    assert "nothing was stored" in result.output
    assert db.session.scalar(select(func.count(Media.id))) == 0
    assert media_files(app) == []


@pytest.mark.parametrize(
    ("url", "found"),
    [
        (f"{OLD}{PHOTO}", "photo"),
        (f"http://www.OLD.example.org{PHOTO}?w=300#top", "photo"),
        (f"//old.example.org{PHOTO}", "photo"),
        (PHOTO, "photo"),
        ("/wp-content/uploads/2023/05/photo-640x427.jpg", "photo"),  # any size WordPress made
        ("/wp-content/uploads/2023/05/photo%2D300x200.jpg", "photo"),
        ("/wp-content/uploads/2023/06/view-1024x384.jpg", "view"),
        ("/wp-content/uploads/2023/06/view-scaled-1024x384.jpg", "view"),
        (f"https://other.example.com{PHOTO}", None),
        ("wp-content/uploads/2023/05/photo.jpg", None),  # relative to the page: not known
        ("javascript:alert(1)//wp-content/uploads/2023/05/photo.jpg", None),
        ("/wp-content/uploads/2023/05/other.jpg", None),
    ],
)
def test_an_upload_address_in_any_of_its_forms_is_found(url: str, found: str | None) -> None:
    document = read_wxr(str(UPLOADS_SITE))
    mapping = UploadMap(hosts={"old.example.org"})
    items = {item.wp_id: item for item in document.items}
    for attachment in attachments(document):
        if not isinstance(attachment, tuple) and attachment.item is items[31]:
            mapping.add(attachment, "photo")
        elif not isinstance(attachment, tuple) and attachment.item is items[32]:
            mapping.add(attachment, "view")
    assert mapping.address(url, OLD) == found


@pytest.mark.parametrize(
    ("title", "meta", "expected"),
    [
        ("IMG_1234", {"_wp_attached_file": "2023/05/IMG_1234.jpg"}, ""),
        ("my photo", {"_wp_attached_file": "2023/05/my_photo-scaled.jpg"}, ""),
        ("A wide view", {"_wp_attached_file": "2023/05/view.jpg"}, "A wide view"),
        (
            "x",
            {"_wp_attached_file": "a.jpg", "_wp_attachment_image_alt": "Tom &amp; Jerry"},
            "Tom & Jerry",
        ),
    ],
)
def test_the_alternative_text_is_never_just_the_file_name(
    title: str, meta: dict[str, str], expected: str
) -> None:
    item = WxrItem(
        wp_id=1,
        post_type="attachment",
        status="inherit",
        title=title,
        post_name="",
        creator="",
        content="",
        excerpt="",
        date=None,
        modified=None,
        comments_open=False,
        password="",
        meta=meta,
    )
    assert alt_text(item) == expected


# --- sticky posts -------------------------------------------------------------------------------


def home_titles(client: FlaskClient, page: int = 1) -> list[str]:
    html = client.get(f"/?page={page}" if page > 1 else "/").get_data(as_text=True)
    return re.findall(r"<h2[^>]*>\s*<a [^>]*>([^<]+)</a>", html)


def test_imported_sticky_posts_come_first_on_the_home_page(app: Flask, client: FlaskClient) -> None:
    import_site(app, None, "--site-settings")
    assert post("pictures").sticky
    titles = home_titles(client)
    assert titles[:3] == ["Pictures", "Latest news", "Later news"]


def test_without_site_settings_the_home_page_is_by_date(app: Flask, client: FlaskClient) -> None:
    import_site(app, None)
    assert home_titles(client)[:3] == ["Latest news", "Later news", "Pictures"]


def test_sticky_posts_lead_the_first_page_only_as_in_wordpress(
    app: Flask, client: FlaskClient
) -> None:
    start = utcnow() - timedelta(days=30)
    sticky = factories.make_post(title="Old sticky", published_at=start)
    draft = factories.make_post(title="Draft sticky", status=PostStatus.DRAFT)
    for n in range(12):
        factories.make_post(title=f"Post {n}", published_at=start + timedelta(days=n + 1))
    sticky.sticky = draft.sticky = True
    db.session.commit()
    # Every sticky post above the page's ten newest: eleven on the first page.
    assert home_titles(client) == ["Old sticky", *(f"Post {n}" for n in range(11, 1, -1))]
    # Later pages by date, the sticky post in its place; the blog's list is by date.
    assert home_titles(client, 2) == ["Post 1", "Post 0", "Old sticky"]
    blog = client.get("/blog/").get_data(as_text=True)
    assert "Post 11" in blog and "Old sticky" not in blog
