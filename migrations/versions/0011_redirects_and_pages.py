"""old addresses that keep working, and pages as pages (issue 16)

- redirects: an old address (a WordPress permalink, "/?p=12", a slug changed in the admin) and
  what it leads to now (a post, page, category, tag or author by id, or a path); one unique
  index on the address serves the lookup, made only when nothing else answered.
- posts.kind: "post" or "page" (WordPress's post_type); pages stay out of the lists, feeds and
  date archives and are served at their own path.
- posts.parent_id, posts.menu_order: a page's parent page and its place among its siblings.
- the two list indexes of posts end with the kind, so that counts stay index-only.

Revision ID: 0011_redirects_and_pages
Revises: 0010_post_revisions
Create Date: 2026-12-07 11:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_redirects_and_pages'
down_revision = '0010_post_revisions'
branch_labels = None
depends_on = None


_LISTED_AT = sa.text('coalesce(published_at, created_at)')
_LIST_INDEXES = (
    ('ix_posts_status_published_at_id', ['status', 'published_at', 'id']),
    ('ix_posts_author_id_status_published_at_id', ['author_id', 'status', 'published_at', 'id']),
)


def upgrade():
    op.create_table('redirects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('old_path', sa.String(length=1000), nullable=False),
    sa.Column('target_kind', sa.Enum('post', 'category', 'tag', 'author', 'path', name='redirect_target', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('target_path', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redirects')),
    sa.UniqueConstraint('old_path', name=op.f('uq_redirects_old_path'))
    )
    # Plain ADD COLUMNs: a batch would copy the posts table (and cannot rebuild its expression
    # index on SQLite). SQLite takes a CHECK in ADD COLUMN, but alembic only writes one in a
    # batch there: written out for it. parent_id has no foreign key for the same reason.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE posts ADD COLUMN kind VARCHAR(20) DEFAULT 'post' NOT NULL "
                   "CONSTRAINT ck_posts_post_kind CHECK (kind IN ('post', 'page'))")
    else:
        op.add_column('posts', sa.Column('kind', sa.Enum('post', 'page', name='post_kind', native_enum=False, create_constraint=True, length=20), server_default='post', nullable=False))
    op.add_column('posts', sa.Column('parent_id', sa.Integer(), nullable=True))
    op.add_column('posts', sa.Column('menu_order', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_posts_parent_id', 'posts', ['parent_id'], unique=False)
    # The lists leave pages out: with the kind last, their counts stay index-only scans on
    # PostgreSQL (docs/design.md, "Indexes").
    for name, columns in _LIST_INDEXES:
        op.drop_index(name, table_name='posts')
        op.create_index(name, 'posts', [*columns, 'kind'], unique=False)
    op.drop_index('ix_posts_listed_at_id', table_name='posts')
    op.create_index('ix_posts_listed_at_id', 'posts', [_LISTED_AT, 'id', 'kind'], unique=False)


def downgrade():
    for name, columns in _LIST_INDEXES:
        op.drop_index(name, table_name='posts')
        op.create_index(name, 'posts', columns, unique=False)
    op.drop_index('ix_posts_listed_at_id', table_name='posts')
    op.create_index('ix_posts_listed_at_id', 'posts', [_LISTED_AT, 'id'], unique=False)
    op.drop_index('ix_posts_parent_id', table_name='posts')
    op.drop_column('posts', 'menu_order')
    op.drop_column('posts', 'parent_id')
    op.drop_column('posts', 'kind')
    op.drop_table('redirects')
