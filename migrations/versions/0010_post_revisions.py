"""post revisions: every save of a post keeps its title, text and excerpt, who saved and when

Existing posts get no revision here: their first save makes one.

Revision ID: 0010_post_revisions
Revises: 0009_media
Create Date: 2026-12-07 11:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_post_revisions'
down_revision = '0009_media'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'post_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('body_source', sa.Text(), nullable=False),
        sa.Column('excerpt', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('author_name', sa.String(length=250), nullable=False),
        sa.Column('saved_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['author_id'], ['users.id'],
            name=op.f('fk_post_revisions_author_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['post_id'], ['posts.id'],
            name=op.f('fk_post_revisions_post_id_posts'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_post_revisions')),
    )
    with op.batch_alter_table('post_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_post_revisions_post_id_id', ['post_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('post_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_post_revisions_post_id_id')
    op.drop_table('post_revisions')
