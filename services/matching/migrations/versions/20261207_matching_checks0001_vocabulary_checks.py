"""CHECK constraints keep every vocabulary column inside its vocabulary
(services.matching.enums): profiles' role and delivery; runs' status, algorithm
and objective; matches' status and dissolved_by; substitute offers' status

On SQLite batch mode rebuilds each table (move and copy): these tables have no
foreign keys, so the rebuild is safe; on PostgreSQL the constraints are added
in place and checked against the rows already there. The values are written
out here, as they stand at this revision.

Revision ID: matching_checks0001
Revises: matching_feed0001
Create Date: 2026-12-07 20:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'matching_checks0001'
down_revision: Union[str, Sequence[str], None] = 'matching_feed0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CHECKS: dict[str, list[tuple[str, str]]] = {
    'matching_profiles': [
        ('role', "role IN ('mentor', 'mentee', 'peer_mentor')"),
        ('delivery', "delivery IN ('virtual', 'in_person', 'hybrid')"),
    ],
    'matching_runs': [
        ('status', "status IN ('completed')"),
        ('algorithm', "algorithm IN ('optimal', 'stable')"),
        ('objective', "objective IN ('max_matched_then_score', 'maximin')"),
    ],
    'matches': [
        ('status', "status IN ('proposed', 'active', 'completed', 'dissolved')"),
        ('dissolved_by', "dissolved_by IS NULL OR dissolved_by IN ('mentee', 'mentor', 'coordinator', 'system')"),
    ],
    'substitute_offers': [
        ('status', "status IN ('offered', 'accepted', 'assigned')"),
    ],
}


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, condition in checks:
                batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), condition)


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, _ in checks:
                batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
