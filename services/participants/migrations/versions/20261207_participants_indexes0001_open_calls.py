"""programs are indexed by status (then id): the public list of open calls reads only open programs

GET /v1/calls filters every institution's programs on ``status = 'call_open'``
in id order; without this index it read the whole ``programs`` table (issue 15).

Revision ID: participants_indexes0001
Revises: participants_consent_quotes
Create Date: 2026-12-07 16:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'participants_indexes0001'
down_revision: Union[str, Sequence[str], None] = 'participants_consent_quotes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_programs_status_id', 'programs', ['status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_programs_status_id', table_name='programs')
