"""kinds milestone_to_confirm and program_completed; dyad_members (who holds each role of a dyad)

The CHECK constraints on ``kind`` of ``notifications``, ``preferences`` and
``reminders`` are dropped and created again with the two new kinds. On SQLite
batch mode rebuilds each table (move and copy); ``deliveries`` references
``notifications``, whose old copy is dropped, so foreign key enforcement is
turned off for the rebuild as SQLite's own procedure for altering a table asks
(``PRAGMA foreign_keys`` changes only outside a transaction: the revisions
before this one are committed first), and ``PRAGMA foreign_key_check`` must
find nothing afterwards. On PostgreSQL the constraints change in place. The values are written out
here, as they stand at this revision.

Revision ID: notifications0003
Revises: notifications0002
Create Date: 2026-12-08 00:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'notifications0003'
down_revision: Union[str, Sequence[str], None] = 'notifications0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BEFORE = ('application_received', 'selected', 'confirm_reminder', 'not_selected', 'match_announced', 'meeting_proposed',
          'meeting_rescheduled', 'meeting_cancelled', 'meeting_tomorrow', 'feedback_due', 'feedback_overdue', 'digest')
NEW = ('milestone_to_confirm', 'program_completed')
AFTER = BEFORE[:-1] + NEW + BEFORE[-1:]
TABLES = ('notifications', 'preferences', 'reminders')


def _condition(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def _kind_checks(kinds: tuple[str, ...]) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    if sqlite:
        raw = bind.connection.dbapi_connection
        if raw.in_transaction:
            raw.commit()
        op.execute('PRAGMA foreign_keys = OFF')
    for table in TABLES:
        with op.batch_alter_table(table, schema=None, recreate='auto') as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_kind'), type_='check')
            batch_op.create_check_constraint(batch_op.f(f'ck_{table}_kind'), _condition(kinds))
    if sqlite:
        broken = bind.exec_driver_sql('PRAGMA foreign_key_check').all()
        if broken:
            raise RuntimeError(f'rebuilding the kind checks broke foreign keys: {broken[:5]}')
        raw.commit()
        op.execute('PRAGMA foreign_keys = ON')


def upgrade() -> None:
    _kind_checks(AFTER)
    op.create_table('dyad_members',
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('dyad_id', sa.Uuid(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('mentee', 'mentor')", name=op.f('ck_dyad_members_role')),
    sa.PrimaryKeyConstraint('institution_id', 'dyad_id', 'role', name=op.f('pk_dyad_members'))
    )
    with op.batch_alter_table('dyad_members', schema=None) as batch_op:
        batch_op.create_index('ix_dyad_members_account', ['institution_id', 'account_id'], unique=False)


def downgrade() -> None:
    """The messages, preferences and reminders of the two kinds are deleted first (the kinds no longer exist)."""
    with op.batch_alter_table('dyad_members', schema=None) as batch_op:
        batch_op.drop_index('ix_dyad_members_account')
    op.drop_table('dyad_members')
    kinds = ', '.join(repr(k) for k in NEW)
    op.execute(f"DELETE FROM deliveries WHERE notification_id IN (SELECT id FROM notifications WHERE kind IN ({kinds}))")
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE kind IN ({kinds})")
    _kind_checks(BEFORE)
