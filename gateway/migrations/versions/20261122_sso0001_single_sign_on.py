"""single sign-on: identity-provider registrations and external identities

Revision ID: sso0001
Revises: d7e845c20788
Create Date: 2026-11-22 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'sso0001'
down_revision: Union[str, Sequence[str], None] = 'd7e845c20788'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('identity_providers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('jwks_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('algorithms', sa.JSON(), nullable=False),
    sa.Column('subject_claim', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('email_claim', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('tenant_claim', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('tenant_value', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('emails_verified', sa.Boolean(), nullable=False),
    sa.Column('account_policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('default_roles', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_providers'))
    )
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_providers_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_providers_issuer'), ['issuer'], unique=False)

    op.create_table('external_identities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_external_identities_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'], name=op.f('fk_external_identities_provider_id_identity_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_identities')),
    sa.UniqueConstraint('provider_id', 'account_id', name=op.f('uq_external_identities_provider_id_account_id')),
    sa.UniqueConstraint('provider_id', 'subject', name=op.f('uq_external_identities_provider_id_subject'))
    )
    with op.batch_alter_table('external_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_identities_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('external_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_identities_account_id'))

    op.drop_table('external_identities')
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_providers_issuer'))
        batch_op.drop_index(batch_op.f('ix_identity_providers_institution_id'))

    op.drop_table('identity_providers')
