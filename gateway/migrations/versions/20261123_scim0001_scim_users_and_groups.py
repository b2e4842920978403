"""scim users and groups

Revision ID: scim0001
Revises: d7e845c20788
Create Date: 2026-11-23 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'scim0001'
down_revision: Union[str, Sequence[str], None] = 'd7e845c20788'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('scim_users',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('name_formatted', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('given_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('family_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('hr_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('sis_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('lms_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('active_set', sa.Boolean(), nullable=False),
    sa.Column('granted_roles', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_scim_users_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_scim_users'))
    )
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_users_external_id'), ['external_id'], unique=False)

    op.create_table('scim_user_emails',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('primary', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_scim_user_emails_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_user_emails'))
    )
    with op.batch_alter_table('scim_user_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_user_emails_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_user_emails_value'), ['value'], unique=False)

    op.create_table('scim_groups',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_groups')),
    sa.UniqueConstraint('institution_id', 'display_name', name=op.f('uq_scim_groups_institution_id_display_name'))
    )
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_groups_institution_id'), ['institution_id'], unique=False)

    op.create_table('scim_group_members',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_scim_group_members_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['scim_groups.id'], name=op.f('fk_scim_group_members_group_id_scim_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'account_id', name=op.f('pk_scim_group_members'))
    )
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_group_members_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_group_members_account_id'))

    op.drop_table('scim_group_members')
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_groups_institution_id'))

    op.drop_table('scim_groups')
    with op.batch_alter_table('scim_user_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_user_emails_value'))
        batch_op.drop_index(batch_op.f('ix_scim_user_emails_account_id'))

    op.drop_table('scim_user_emails')
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_users_external_id'))

    op.drop_table('scim_users')
