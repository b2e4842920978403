"""participant roles from the participants feed

The gateway keeps one row per membership the participants service confirmed
(``participant.confirmed``) or withdrew (``participant.withdrawn``), and its own
cursor and handled events of that feed (gateway/participant_roles.py).

Revision ID: roles0001
Revises: dsr0001
Create Date: 2026-12-07 00:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'roles0001'
down_revision: Union[str, Sequence[str], None] = 'dsr0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('participant_roles',
    sa.Column('membership_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('institution_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('membership_id', name=op.f('pk_participant_roles'))
    )
    with op.batch_alter_table('participant_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_roles_account_id'), ['account_id'], unique=False)
    op.create_table('role_feed_cursors',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('cursor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_role_feed_cursors'))
    )
    op.create_table('role_handled_events',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('handled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_role_handled_events'))
    )


def downgrade() -> None:
    op.drop_table('role_handled_events')
    op.drop_table('role_feed_cursors')
    with op.batch_alter_table('participant_roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_roles_account_id'))
    op.drop_table('participant_roles')
