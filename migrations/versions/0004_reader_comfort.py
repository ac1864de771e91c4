"""reader comfort: comment revisions and reports, the unconfirmed status, edit/delete marks

Adds the status value 'unconfirmed' to the CHECK constraints of comments.status and of the
moderation events' from/to statuses (a batch on SQLite: the table is copied; env.py turns
foreign-key enforcement off around migrations so that the copy's DROP does not cascade).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD = ('pending', 'approved', 'spam', 'trash')
NEW = (*OLD, 'unconfirmed')
# (table, constraint name as the naming convention makes it, column)
CHECKS = (
    ('comments', 'ck_comments_comment_status', 'status'),
    ('moderation_events', 'ck_moderation_events_event_from_status', 'from_status'),
    ('moderation_events', 'ck_moderation_events_event_to_status', 'to_status'),
)


def _check_statuses(batch_op, table, values):
    allowed = ", ".join(f"'{value}'" for value in values)
    for owner, name, column in CHECKS:
        if owner == table:
            batch_op.drop_constraint(op.f(name), type_='check')
            batch_op.create_check_constraint(op.f(name), f"{column} IN ({allowed})")


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        _check_statuses(batch_op, 'comments', NEW)
        batch_op.add_column(sa.Column('notify_approved', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('moderation_events', schema=None) as batch_op:
        _check_statuses(batch_op, 'moderation_events', NEW)

    op.create_table('comment_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('body_source', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('edited_at', sa.DateTime(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('editor_name', sa.String(length=245), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_comment_revisions_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], name=op.f('fk_comment_revisions_editor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_revisions'))
    )
    with op.batch_alter_table('comment_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_revisions_comment_id'), ['comment_id'], unique=False)

    op.create_table('comment_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_comment_reports_comment_id_comments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_reports'))
    )
    with op.batch_alter_table('comment_reports', schema=None) as batch_op:
        batch_op.create_index('ix_comment_reports_comment_id_created_at', ['comment_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('comment_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_reports_comment_id_created_at')
    op.drop_table('comment_reports')

    with op.batch_alter_table('comment_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_revisions_comment_id'))
    op.drop_table('comment_revisions')

    # Comments still waiting for confirmation were never decided on: hold them for moderation
    # (the old schema has no such status). Not approved before, not approved after: no count moves.
    op.execute("UPDATE comments SET status = 'pending' WHERE status = 'unconfirmed'")
    op.execute("UPDATE moderation_events SET from_status = 'pending' WHERE from_status = 'unconfirmed'")
    op.execute("UPDATE moderation_events SET to_status = 'pending' WHERE to_status = 'unconfirmed'")
    with op.batch_alter_table('moderation_events', schema=None) as batch_op:
        _check_statuses(batch_op, 'moderation_events', OLD)
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('edited_at')
        batch_op.drop_column('notify_approved')
        _check_statuses(batch_op, 'comments', OLD)
