"""``flask blog backup FILE``: a consistent copy of the live SQLite database.

SQLite's online backup API copies every page inside one read transaction. In WAL mode a reader
never blocks the writers and always sees one committed state, so the copy is the database as it
was at one instant while the site keeps serving and taking comments. The copy is written next to
FILE under a temporary name, switched to a self-contained rollback journal, checked with
``PRAGMA integrity_check``, made private (0600: it holds password hashes and email addresses),
and only then renamed over FILE.

The media library's folder (``MEDIA_PATH``) goes into ``FILE.media.tar`` beside it, taken after
the database: a file uploaded meanwhile is in the archive without its row (harmless), and only a
file deleted in between could be missing. Restore: docs/backups.md.

PostgreSQL has its own tools for the database: ``pg_dump`` (see the README); the media archive is
written all the same.
"""

from __future__ import annotations

import os
import sqlite3
import tarfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

PG_DUMP_HINT = (
    "This site runs on PostgreSQL; back it up with PostgreSQL's own tools, for example\n"
    "  pg_dump --format=custom --file=blog.dump DATABASE_URL\n"
    "and restore with\n"
    "  pg_restore --clean --if-exists --dbname=DATABASE_URL blog.dump\n"
    "(the README's section on backups has the details)."
)


class BackupError(Exception):
    """No backup was made; the message says why."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int  # bytes
    pages: int


@dataclass(frozen=True)
class MediaBackup:
    path: Path
    files: int
    size: int  # bytes of the archive


MEDIA_ARCHIVE_SUFFIX = ".media.tar"


def media_archive(destination: Path) -> Path:
    """Where the media of a backup to ``destination`` go: ``<destination>.media.tar``."""
    destination = destination.expanduser()
    return destination.with_name(destination.name + MEDIA_ARCHIVE_SUFFIX)


def backup_site(url: URL, destination: Path, media_root: Path) -> tuple[Backup, MediaBackup]:
    """The database (SQLite) into ``destination``, then the media folder into its archive.
    On PostgreSQL the media are archived and BackupError says how to dump the database."""
    try:
        database = backup_database(url, destination)
    except BackupError as error:
        if url.get_backend_name() == "sqlite":
            raise
        archived = backup_media(media_root, destination)
        raise BackupError(
            f"The media ({archived.files:,} files) were archived in {archived.path}.\n{error}"
        ) from None
    return database, backup_media(media_root, destination)


def backup_media(root: Path, destination: Path) -> MediaBackup:
    """Every file of the media folder ``root`` into a tar archive beside ``destination``, as
    ``media/<key>``; written under a temporary name and renamed when complete (mode 0600)."""
    archive = media_archive(destination)
    if not archive.parent.is_dir():
        raise BackupError(f"The directory {archive.parent} does not exist.")
    partial = archive.with_name(f".{archive.name}.partial-{os.getpid()}")
    counted = [0]

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if Path(member.name).name.startswith("."):
            return None  # an upload being written (blog.posts.media_storage)
        counted[0] += member.isfile()
        return member

    try:
        with tarfile.open(partial, "w") as tar:
            if root.is_dir():
                tar.add(root, arcname="media", filter=keep)
            else:
                folder = tarfile.TarInfo("media")
                folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(folder)
        os.chmod(partial, 0o600)
        os.replace(partial, archive)
    except OSError as error:
        raise BackupError(f"The media backup failed: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return MediaBackup(archive, counted[0], archive.stat().st_size)


def backup_database(url: URL, destination: Path, busy_timeout_s: float = 5.0) -> Backup:
    """Back up the database at ``url`` into ``destination`` (SQLite only)."""
    if url.get_backend_name() != "sqlite":
        raise BackupError(PG_DUMP_HINT)
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("This database lives in memory; there is no file to back up.")
    return backup_sqlite(Path(url.database), destination, busy_timeout_s)


def backup_sqlite(source: Path, destination: Path, busy_timeout_s: float = 5.0) -> Backup:
    """Copy the SQLite database ``source`` to ``destination`` while it is in use."""
    if not source.is_file():
        raise BackupError(f"There is no database at {source}.")
    destination = destination.expanduser()
    if destination.is_dir():
        raise BackupError(f"{destination} is a directory; give a file name.")
    if destination.exists() and destination.resolve() == source.resolve():
        raise BackupError("The backup cannot overwrite the live database itself.")
    if not destination.parent.is_dir():
        raise BackupError(f"The directory {destination.parent} does not exist.")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        with (
            closing(sqlite3.connect(source, timeout=busy_timeout_s)) as live,
            closing(sqlite3.connect(partial)) as copy,
        ):
            live.backup(copy)  # every page in one step: one read transaction, one instant
            copy.execute("PRAGMA journal_mode = DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"The copy failed its integrity check: {verdict}")
        os.chmod(partial, 0o600)
        os.replace(partial, destination)
    except sqlite3.Error as error:
        raise BackupError(f"The backup failed: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return Backup(destination, destination.stat().st_size, int(pages))
