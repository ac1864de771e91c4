"""WordPress uploads in the media library, and sticky posts first on the home page (issue 16)

- media.origin: where an imported file came from (the old site's upload address without its
  scheme), unique, so that a second `flask blog import-wxr --uploads` finds it; NULL for an
  upload.
- ix_posts_sticky_status_published_at_id: the home page's first page finds the sticky posts
  without walking the published ones.

Revision ID: 0013_media_origin
Revises: 0012_comment_type
Create Date: 2026-12-07 12:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_media_origin'
down_revision = '0012_comment_type'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN and a unique index: a batch would copy the table on SQLite.
    op.add_column('media', sa.Column('origin', sa.String(length=1000), nullable=True))
    op.create_index('ix_media_origin', 'media', ['origin'], unique=True)
    op.create_index('ix_posts_sticky_status_published_at_id', 'posts',
                    ['sticky', 'status', 'published_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_posts_sticky_status_published_at_id', table_name='posts')
    op.drop_index('ix_media_origin', table_name='media')
    op.drop_column('media', 'origin')
