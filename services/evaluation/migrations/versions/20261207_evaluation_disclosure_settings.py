"""disclosure_settings: a program's k (smallest published cell) and k_text (open text and quotes per role)

Revision ID: evaluation_disclosure_settings
Revises: evaluation_dyadref
Create Date: 2026-12-07 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'evaluation_disclosure_settings'
down_revision: Union[str, Sequence[str], None] = 'evaluation_dyadref'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'disclosure_settings',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('institution_id', sa.Uuid(), nullable=False),
        sa.Column('program_id', sa.Uuid(), nullable=False),
        sa.Column('min_cell', sa.Integer(), nullable=False),
        sa.Column('min_text', sa.Integer(), nullable=False),
        sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('institution_id', 'program_id'),
    )
    with op.batch_alter_table('disclosure_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosure_settings_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disclosure_settings_program_id'), ['program_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('disclosure_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosure_settings_program_id'))
        batch_op.drop_index(batch_op.f('ix_disclosure_settings_institution_id'))
    op.drop_table('disclosure_settings')
