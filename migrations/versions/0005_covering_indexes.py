"""covering indexes for lists and archives, and (email, status) for the "approved before?" check

Checked with EXPLAIN on both databases at 100,000 posts and 1,000,000 comments (README,
"Indexes"; tests/test_query_plans.py):

- posts (status, published_at, id) and (author_id, status, published_at, id): the id makes the
  counts and joins of the lists index-only on PostgreSQL and completes their order.
- post_categories (category_id, post_id), post_tags (tag_id, post_id): an archive's posts
  without reading the link table.
- comments (author_email, status, created_at) instead of (author_email, created_at): without
  it, SQLite answered "has this email an approved comment?" from the status index, walking every
  approved comment (about 2 s at a million comments, on each submission).

Plain index operations (no batch): on SQLite a batch that copied the posts table would drop the
search triggers of 0002.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# (table, old name, old columns, new name, new columns)
CHANGES = (
    ('posts', 'ix_posts_status_published_at', ['status', 'published_at'],
     'ix_posts_status_published_at_id', ['status', 'published_at', 'id']),
    ('posts', 'ix_posts_author_id_status_published_at', ['author_id', 'status', 'published_at'],
     'ix_posts_author_id_status_published_at_id', ['author_id', 'status', 'published_at', 'id']),
    ('post_categories', 'ix_post_categories_category_id', ['category_id'],
     'ix_post_categories_category_id_post_id', ['category_id', 'post_id']),
    ('post_tags', 'ix_post_tags_tag_id', ['tag_id'],
     'ix_post_tags_tag_id_post_id', ['tag_id', 'post_id']),
    ('comments', 'ix_comments_author_email_created_at', ['author_email', 'created_at'],
     'ix_comments_author_email_status_created_at', ['author_email', 'status', 'created_at']),
)


def upgrade():
    for table, old, _old_columns, new, new_columns in CHANGES:
        op.create_index(new, table, new_columns, unique=False)
        op.drop_index(old, table_name=table)


def downgrade():
    for table, old, old_columns, new, _new_columns in reversed(CHANGES):
        op.create_index(old, table, old_columns, unique=False)
        op.drop_index(new, table_name=table)
