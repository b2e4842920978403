"""SCIM: userNames unique per institution (scim_users.user_name)

Revision ID: scim0002
Revises: sso0002
Create Date: 2026-12-07 06:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'scim0002'
down_revision: Union[str, Sequence[str], None] = 'sso0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
        batch_op.create_index(batch_op.f('ix_scim_users_user_name'), ['user_name'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_users_user_name'))
        batch_op.drop_column('user_name')
