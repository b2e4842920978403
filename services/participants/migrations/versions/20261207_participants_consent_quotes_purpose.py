"""consents.purpose may be 'quotes': consent to de-identified excerpts of her interview in reports

Only the CHECK constraint of ``consents.purpose`` changes. On SQLite batch mode
rebuilds ``consents`` (nothing references it, so the copy is safe with foreign
keys on); on PostgreSQL the constraint is dropped and created again.

Revision ID: participants_consent_quotes
Revises: applications_assigned_role
Create Date: 2026-12-07 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'participants_consent_quotes'
down_revision: Union[str, Sequence[str], None] = 'applications_assigned_role'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

WITH_QUOTES = "purpose IN ('program', 'research', 'matching_identity', 'quotes')"
WITHOUT_QUOTES = "purpose IN ('program', 'research', 'matching_identity')"


def _purpose_check(condition: str) -> None:
    with op.batch_alter_table('consents', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consents_purpose'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_consents_purpose'), condition)


def upgrade() -> None:
    """Upgrade schema."""
    _purpose_check(WITH_QUOTES)


def downgrade() -> None:
    """Downgrade schema: consents to quotes are deleted first (the purpose no longer exists)."""
    op.execute("DELETE FROM consents WHERE purpose = 'quotes'")
    _purpose_check(WITHOUT_QUOTES)
