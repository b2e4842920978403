"""merge the integration branches: single sign-on, webhooks and SCIM

Three features added their tables side by side from the same parent; this
revision joins them so that the gateway has one head again.

Revision ID: integrations0001
Revises: scim0001, sso0001, webhooks0001
Create Date: 2026-11-23 00:00:00.000000

"""
from typing import Sequence, Union

# revision identifiers, used by Alembic.
revision: str = 'integrations0001'
down_revision: Union[str, Sequence[str], None] = ('scim0001', 'sso0001', 'webhooks0001')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
