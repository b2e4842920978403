"""webhook deliveries are indexed by lease token: a claim reads back what it leased without a scan

Revision ID: webhooks0003
Revises: dsr0001
Create Date: 2026-12-07 16:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'webhooks0003'
down_revision: Union[str, Sequence[str], None] = 'dsr0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_webhook_deliveries_lease_token', 'webhook_deliveries', ['lease_token'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_lease_token', table_name='webhook_deliveries')
