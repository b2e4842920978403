"""inbox, deliveries, preferences, reminders

Revision ID: notifications0001
Revises: 
Create Date: 2026-12-07 19:13:48.434620

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'notifications0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table('feed_cursors',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('cursor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_feed_cursors'))
    )
    op.create_table('handled_events',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('handled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_handled_events'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('application_received', 'selected', 'confirm_reminder', 'not_selected', 'match_announced', 'meeting_proposed', 'meeting_rescheduled', 'meeting_cancelled', 'meeting_tomorrow', 'feedback_due', 'feedback_overdue', 'digest')", name=op.f('ck_notifications_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('event_id', 'account_id', name=op.f('uq_notifications_event_id_account_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_inbox', ['institution_id', 'account_id', 'id'], unique=False)

    op.create_table('preferences',
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('setting', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('application_received', 'selected', 'confirm_reminder', 'not_selected', 'match_announced', 'meeting_proposed', 'meeting_rescheduled', 'meeting_cancelled', 'meeting_tomorrow', 'feedback_due', 'feedback_overdue', 'digest')", name=op.f('ck_preferences_kind')),
    sa.CheckConstraint("setting IN ('on', 'off', 'digest')", name=op.f('ck_preferences_setting')),
    sa.PrimaryKeyConstraint('institution_id', 'account_id', 'kind', name=op.f('pk_preferences'))
    )
    op.create_table('reminders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('program_id', sa.Uuid(), nullable=True),
    sa.Column('dyad_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('application_received', 'selected', 'confirm_reminder', 'not_selected', 'match_announced', 'meeting_proposed', 'meeting_rescheduled', 'meeting_cancelled', 'meeting_tomorrow', 'feedback_due', 'feedback_overdue', 'digest')", name=op.f('ck_reminders_kind')),
    sa.CheckConstraint("status IN ('scheduled', 'fired', 'cancelled')", name=op.f('ck_reminders_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_reminders_dyad', ['institution_id', 'dyad_id'], unique=False)
        batch_op.create_index('ix_reminders_member', ['institution_id', 'account_id', 'program_id'], unique=False)
        batch_op.create_index('ix_reminders_reason', ['institution_id', 'reason'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_holder', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email')", name=op.f('ck_deliveries_channel')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped', 'held', 'digested')", name=op.f('ck_deliveries_status')),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_deliveries_notification_id_notifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('event_id', 'account_id', 'channel', name=op.f('uq_deliveries_event_id_account_id_channel'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_deliveries_institution', ['institution_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_notification_id'), ['notification_id'], unique=False)




def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_notification_id'))
        batch_op.drop_index('ix_deliveries_institution')
        batch_op.drop_index('ix_deliveries_due')

    op.drop_table('deliveries')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_reason')
        batch_op.drop_index('ix_reminders_member')
        batch_op.drop_index('ix_reminders_dyad')
        batch_op.drop_index('ix_reminders_due')

    op.drop_table('reminders')
    op.drop_table('preferences')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_inbox')

    op.drop_table('notifications')
    op.drop_table('handled_events')
    op.drop_table('feed_cursors')

