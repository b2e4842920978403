"""the participants feed's cursor and handled events (withdrawals end matches)

Revision ID: matching_feed0001
Revises: 9b0aeabfa9d8
Create Date: 2026-12-07 17:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'matching_feed0001'
down_revision: Union[str, Sequence[str], None] = '9b0aeabfa9d8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table('handled_events')
    op.drop_table('feed_cursors')
