"""applications gain assigned_role: the role staff give an applicant when they
accept her (the role she sought, ``role``, is a preference)

Applications accepted before this revision were accepted for the role they
sought: that role becomes their assigned role, so every accepted application
has one. The column is added in place (ALTER TABLE ADD COLUMN with its CHECK),
as roster0001 explains for SQLite.

Revision ID: applications_assigned_role
Revises: roster0001
Create Date: 2026-11-23 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'applications_assigned_role'
down_revision: Union[str, Sequence[str], None] = 'roster0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        'applications',
        sa.Column(
            'assigned_role',
            sa.String(length=20),
            sa.CheckConstraint(
                "assigned_role IS NULL OR assigned_role IN ('mentor', 'mentee', 'peer_mentor')",
                name=op.f('ck_applications_assigned_role'),
            ),
            nullable=True,
        ),
    )
    op.execute("UPDATE applications SET assigned_role = role WHERE decision = 'accepted'")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute('ALTER TABLE "applications" DROP COLUMN "assigned_role"')
    else:
        op.drop_column('applications', 'assigned_role')
