"""content as WordPress shows it: comment types, sticky posts, post formats, category HTML

- comments.comment_type: 'comment', 'pingback' or 'trackback' (WordPress's comment_type), with
  a CHECK constraint as every enum column here; existing rows are comments.
- posts.sticky and posts.post_format: WordPress's sticky flag and post format ('' standard).
- categories.description_html: the description rendered like a post body; existing rows get
  their plain text escaped in a paragraph (what the page showed until now); `flask blog
  resanitize` renders them again with the application's rules.

Revision ID: 0012_comment_type
Revises: 0008_public_author_slugs
Create Date: 2026-12-07 11:00:00

"""
import html

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_comment_type'
down_revision = '0008_public_author_slugs'
branch_labels = None
depends_on = None

TYPES = ('comment', 'pingback', 'trackback')


def upgrade():
    allowed = ", ".join(f"'{value}'" for value in TYPES)
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'comment_type', sa.Enum(*TYPES, name='comment_type', native_enum=False,
                                    create_constraint=False, length=20),
            server_default='comment', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_comments_comment_type'), f"comment_type IN ({allowed})")
    # Plain ADD COLUMN (no table copy on SQLite, which would lose posts' expression index).
    op.add_column('posts', sa.Column('sticky', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('posts', sa.Column('post_format', sa.String(length=20), server_default='', nullable=False))
    op.add_column('categories', sa.Column('description_html', sa.Text(), server_default='', nullable=False))

    categories = sa.table('categories', sa.column('id', sa.Integer), sa.column('description', sa.Text),
                          sa.column('description_html', sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(categories.c.id, categories.c.description)).all()
    for row_id, description in rows:
        if description and description.strip():
            connection.execute(
                categories.update().where(categories.c.id == row_id)
                .values(description_html=f"<p>{html.escape(description.strip(), quote=False)}</p>"))


def downgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('description_html')
    # The index on an expression is not copied with the table by SQLite's batch: made again.
    op.drop_index('ix_posts_listed_at_id', table_name='posts')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('post_format')
        batch_op.drop_column('sticky')
    op.create_index(
        'ix_posts_listed_at_id', 'posts', [sa.text('coalesce(published_at, created_at)'), 'id'],
        unique=False,
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_comments_comment_type'), type_='check')
        batch_op.drop_column('comment_type')
