"""vocabularies under CHECK constraints: roles, audiences, moments and every status

Each column that holds one of the service's vocabularies (``services.evaluation.enums``
and the core's ``Role`` and ``Audience``) gets a CHECK constraint named
``ck_<table>_<column>``. The values are written out here, as they were when the
constraints were made. On SQLite a constraint is added by copying the table
(alembic's batch mode), which keeps its rows, indexes and keys.

Revision ID: evaluation_vocabularies
Revises: evaluation_interviews
Create Date: 2026-12-07 19:40:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'evaluation_vocabularies'
down_revision: Union[str, Sequence[str], None] = 'evaluation_interviews'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROLE = ('mentor', 'mentee')
SUBMISSION = ('draft', 'submitted')

CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    'administrations': {'audience': ('mentors', 'mentees', 'everyone'), 'moment': ('pre', 'post', 'closing', 'custom')},
    'responses': {'role': ROLE, 'status': SUBMISSION},
    'codings': {'role': ROLE},
    'interview_guides': {'role': ROLE},
    'interview_samples': {'status': ('proposed', 'accepted')},
    'interview_sample_picks': {'role': ROLE, 'chosen_by': ('proposal', 'coordinator')},
    'interviews': {'role': ROLE, 'status': ('recorded', 'withdrawn', 'erased')},
    'interview_codings': {'status': SUBMISSION},
}


def upgrade() -> None:
    """Upgrade schema."""
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(
                    op.f(f'ck_{table}_{column}'), f"{column} IN ({', '.join(repr(v) for v in values)})")


def downgrade() -> None:
    """Downgrade schema."""
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
