"""an index for the admin's posts list: newest first by publish date, else creation date

The list sorted every post by ``coalesce(published_at, created_at)`` for each page (about
250 ms at 100,000 posts on SQLite); with this expression index both databases read the page
from the end of the index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_posts_listed_at_id',
        'posts',
        [sa.text('coalesce(published_at, created_at)'), 'id'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_posts_listed_at_id', table_name='posts')
