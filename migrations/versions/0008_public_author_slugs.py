"""the rules attackers probe: public author slugs, the duplicate rule's text digest, failed sign-ins

- users.slug: the author archive's public address (/author/<slug>/), unique, filled for every
  existing user from the display name (python-slugify), or generated ("author-<hex>") when the
  name gives none or would show the login name.
- comments.body_digest: the digest of the text as the duplicate rule compares it (trimmed,
  whitespace collapsed, NFKC, invisible characters dropped), with an index on (post_id,
  body_digest); filled for every existing comment, in batches.
- sign_in_failures: failed sign-ins per keyed hash of the client address, shared by every
  worker and host (blog.accounts.sign_in).

The digest and slug rules are copied here as they were when this migration was written: the
application's may change later, the rows this fills must not change with them.

Revision ID: 0008_public_author_slugs
Revises: 0006
Create Date: 2026-12-07 09:00:00

"""
import hashlib
import secrets
import unicodedata

import sqlalchemy as sa
from alembic import op
from slugify import slugify


# revision identifiers, used by Alembic.
revision = '0008_public_author_slugs'
down_revision = '0007_mail_outbox'
branch_labels = None
depends_on = None

BATCH = 1000
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"))


def _digest(body):
    text = " ".join(unicodedata.normalize("NFKC", body or "").translate(_INVISIBLE).split())
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _slug_for(display_name, username, taken):
    base = slugify(display_name or "", max_length=184, word_boundary=True)
    reveals = {username.lower(), slugify(username)}
    if base and base not in reveals:
        slug, n = base, 2
        while slug in taken or slug in reveals:
            slug, n = f"{base}-{n}", n + 1
        return slug
    slug = f"author-{secrets.token_hex(4)}"
    while slug in taken:
        slug = f"author-{secrets.token_hex(4)}"
    return slug


def _fill_digests(bind):
    comments = sa.table('comments', sa.column('id', sa.Integer), sa.column('body_source', sa.Text),
                        sa.column('body_digest', sa.String))
    update = comments.update().where(comments.c.id == sa.bindparam('b_id')).values(
        body_digest=sa.bindparam('b_digest'))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(comments.c.id, comments.c.body_source)
            .where(comments.c.id > last).order_by(comments.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(update, [{'b_id': i, 'b_digest': _digest(body)} for i, body in rows])
        last = rows[-1][0]


def _fill_slugs(bind):
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('display_name', sa.String), sa.column('slug', sa.String))
    taken = set()
    rows = bind.execute(
        sa.select(users.c.id, users.c.username, users.c.display_name).order_by(users.c.id)
    ).all()
    for user_id, username, display_name in rows:
        slug = _slug_for(display_name, username, taken)
        taken.add(slug)
        bind.execute(users.update().where(users.c.id == user_id).values(slug=slug))


def upgrade():
    bind = op.get_bind()
    op.add_column('comments', sa.Column('body_digest', sa.String(length=32), nullable=False,
                                        server_default=''))
    _fill_digests(bind)
    op.create_index('ix_comments_post_id_body_digest', 'comments', ['post_id', 'body_digest'],
                    unique=False)

    op.add_column('users', sa.Column('slug', sa.String(length=200), nullable=True))
    _fill_slugs(bind)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('slug', existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_slug'), ['slug'])

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_client_at', ['client', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_at'))
        batch_op.drop_index('ix_sign_in_failures_client_at')
    op.drop_table('sign_in_failures')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_slug'), type_='unique')
        batch_op.drop_column('slug')
    op.drop_index('ix_comments_post_id_body_digest', table_name='comments')
    # A plain DROP COLUMN (SQLite has it since 3.35): a batch would copy comments, and reflect
    # posts with it, whose expression index SQLAlchemy cannot reflect.
    op.drop_column('comments', 'body_digest')
