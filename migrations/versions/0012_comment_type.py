"""content as WordPress shows it: comment types, sticky posts, post formats, category HTML

- comments.comment_type: 'comment', 'pingback' or 'trackback' (WordPress's comment_type), with
  a CHECK constraint as every enum column here; existing rows are comments.
- posts.sticky and posts.post_format: WordPress's sticky flag and post format ('' standard).
- categories.description_html: the description rendered like a post body; existing rows get
  their plain text escaped in a paragraph (what the page showed until now); `flask blog
  resanitize` renders them again with the application's rules.

Revision ID: 0012_comment_type
Revises: 0011_redirects_and_pages
Create Date: 2026-12-07 11:00:00

"""
import html

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_comment_type'
down_revision = '0011_redirects_and_pages'
branch_labels = None
depends_on = None

TYPES = ('comment', 'pingback', 'trackback')


def upgrade():
    allowed = ", ".join(f"'{value}'" for value in TYPES)
    check = f"comment_type IN ({allowed})"
    # Plain ADD COLUMN everywhere: a batch would copy the table on SQLite and reflect posts with
    # it, whose expression index (ix_posts_listed_at_id) SQLAlchemy cannot reflect. SQLite takes
    # a column's CHECK in ADD COLUMN; PostgreSQL gets it as a constraint of its own.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            "ALTER TABLE comments ADD COLUMN comment_type VARCHAR(20) DEFAULT 'comment' NOT NULL "
            f"CONSTRAINT ck_comments_comment_type CHECK ({check})")
    else:
        op.add_column('comments', sa.Column('comment_type', sa.String(length=20),
                                            server_default='comment', nullable=False))
        op.create_check_constraint(op.f('ck_comments_comment_type'), 'comments', check)
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
    # Plain DROP COLUMN (SQLite has it since 3.35; a column's own CHECK goes with it).
    op.drop_column('categories', 'description_html')
    op.drop_column('posts', 'post_format')
    op.drop_column('posts', 'sticky')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('ck_comments_comment_type'), 'comments', type_='check')
    op.drop_column('comments', 'comment_type')
