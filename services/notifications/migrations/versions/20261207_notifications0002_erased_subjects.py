"""erased_subjects: digests of accounts erased here (servicekit.erasures)

Revision ID: notifications0002
Revises: notifications0001
Create Date: 2026-12-07 23:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel



revision: str = 'notifications0002'
down_revision: Union[str, Sequence[str], None] = 'notifications0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('erased_subjects',
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('institution_id', 'digest', name=op.f('pk_erased_subjects'))
    )


def downgrade() -> None:
    op.drop_table('erased_subjects')
