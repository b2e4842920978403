"""supervision by norms: the program's stored norms and each dyad's last assessment; old thresholds reset

The program's norms (``program_settings.health_norms`` and ``health_norms_at``)
are computed from the whole cohort and reused for an hour by the health refresh
that follows each change, so one change never reads the whole program. Each
dyad keeps its last assessment (``dyads.health_summary``, ``health_reasons``,
``health_signals``, ``health_assessed_at``, ``health_norms_at``) so the at-risk
list reads the flagged dyads only while the program's assessment is fresh.

``health_thresholds`` now holds the new supervision policy (signals judged
against the program's norms). Thresholds written for the old rules (held
ratio, on-time rate, rating and progress slopes...) have no meaning under it:
a program that had set them goes back to the default policy (its coordinators
set the new one with ``PUT /v1/dyads/programs/{id}/health-thresholds``).

Revision ID: sessions_supervision_norms
Revises: sessions_milestones
Create Date: 2026-12-07 03:00:00.000000

"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'sessions_supervision_norms'
down_revision: Union[str, Sequence[str], None] = 'sessions_milestones'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_KEYS = {
    "missed_streak_red", "missed_streak_amber", "days_without_meeting_red", "days_without_meeting_amber",
    "rating_slope_red", "rating_slope_amber", "rating_window", "min_ratings", "held_ratio_red", "held_ratio_amber",
    "on_time_rate_red", "on_time_rate_amber", "progress_slope_red", "progress_slope_amber", "progress_window",
    "min_progress_points", "min_due_for_rates", "unconfirmed_after_hours",
}
"""every field of the old thresholds (``rating_window`` and ``min_ratings`` live on, but a policy with any old field was
written for the old rules)"""
OLD_ONLY = OLD_KEYS - {"rating_window", "min_ratings"}


def upgrade() -> None:
    with op.batch_alter_table('program_settings') as batch:
        batch.add_column(sa.Column('health_norms', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('health_norms_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('dyads') as batch:
        batch.add_column(sa.Column('health_summary', sa.Text(), nullable=True))
        batch.add_column(sa.Column('health_reasons', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('health_signals', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('health_assessed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('health_norms_at', sa.DateTime(timezone=True), nullable=True))
    table = sa.table('program_settings', sa.column('program_id', sa.Uuid()), sa.column('health_thresholds', sa.JSON()))
    conn = op.get_bind()
    for program_id, thresholds in conn.execute(sa.select(table.c.program_id, table.c.health_thresholds)).all():
        if isinstance(thresholds, str):
            thresholds = json.loads(thresholds)
        if thresholds and OLD_ONLY & set(thresholds):
            conn.execute(table.update().where(table.c.program_id == program_id).values(health_thresholds={}))


def downgrade() -> None:
    # The new policy has no meaning under the old rules: programs go back to the old defaults.
    table = sa.table('program_settings', sa.column('health_thresholds', sa.JSON()))
    op.get_bind().execute(table.update().values(health_thresholds={}))
    with op.batch_alter_table('dyads') as batch:
        for column in ('health_norms_at', 'health_assessed_at', 'health_signals', 'health_reasons', 'health_summary'):
            batch.drop_column(column)
    with op.batch_alter_table('program_settings') as batch:
        batch.drop_column('health_norms_at')
        batch.drop_column('health_norms')
