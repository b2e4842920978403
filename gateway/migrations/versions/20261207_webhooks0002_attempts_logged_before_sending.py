"""webhook attempts are logged before they are sent

An attempt is written into the delivery log when its delivery is claimed,
before the request leaves; it is completed with its outcome afterwards. So an
attempt may be in flight (no duration yet) or interrupted (its replica died).

Revision ID: webhooks0002
Revises: integrations0001
Create Date: 2026-12-07 00:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'webhooks0002'
down_revision: Union[str, Sequence[str], None] = 'integrations0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.alter_column('duration_ms', existing_type=sa.Integer(), nullable=True)
    # Every attempt logged so far had finished.
    op.execute("UPDATE webhook_attempts SET finished_at = started_at")


def downgrade() -> None:
    op.execute("UPDATE webhook_attempts SET duration_ms = 0 WHERE duration_ms IS NULL")
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.alter_column('duration_ms', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('finished_at')
