"""feedback forms still to announce are indexed by due date (a partial index): the overdue sweep reads only them

The sweep asks for the forms neither sent nor announced whose deadline has
passed; with only ``due_at`` indexed it walked every past form of every
institution (most of them sent long ago).

Revision ID: sessions_indexes0001
Revises: sessions_supervision_norms
Create Date: 2026-12-07 16:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'sessions_indexes0001'
down_revision: Union[str, Sequence[str], None] = 'sessions_supervision_norms'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TO_ANNOUNCE = "submitted_at IS NULL AND overdue_announced_at IS NULL"


def upgrade() -> None:
    op.create_index('ix_feedback_forms_to_announce', 'feedback_forms', ['due_at'], unique=False,
                    postgresql_where=sa.text(TO_ANNOUNCE), sqlite_where=sa.text(TO_ANNOUNCE))


def downgrade() -> None:
    op.drop_index('ix_feedback_forms_to_announce', table_name='feedback_forms')
