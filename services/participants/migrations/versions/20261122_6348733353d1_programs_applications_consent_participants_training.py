"""programs, phases, applications, consent, identity data, eligibility
overrides, participants, memberships, erasure records, training

Revision ID: 6348733353d1
Revises: e14048d42164
Create Date: 2026-11-22 08:38:00.842592

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '6348733353d1'
down_revision: Union[str, Sequence[str], None] = 'e14048d42164'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # First: (institution_id, id) on academic_units is the target of the
    # composite (same-tenant) foreign keys from applications and participants,
    # so it must exist before them. On SQLite batch mode rebuilds the table.
    with op.batch_alter_table('academic_units', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_academic_units_institution_id_id'), ['institution_id', 'id'])

    op.create_table('erasure_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('pseudonym', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('requested_by_role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_erasure_requests_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_erasure_requests_pseudonym'))
    )
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_requests_institution_id'), ['institution_id'], unique=False)

    op.create_table('programs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('delivery', sa.String(length=20), nullable=False),
    sa.Column('max_mentees_per_mentor', sa.Integer(), nullable=False),
    sa.Column('meetings_count', sa.Integer(), nullable=False),
    sa.Column('meeting_cadence', sa.String(length=20), nullable=False),
    sa.Column('feedback_deadline_hours', sa.Integer(), nullable=False),
    sa.Column('confirmation_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('privacy_notice_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('privacy_notice_text', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("delivery IN ('virtual', 'in_person', 'hybrid')", name=op.f('ck_programs_delivery')),
    sa.CheckConstraint("meeting_cadence IN ('weekly', 'biweekly', 'monthly')", name=op.f('ck_programs_meeting_cadence')),
    sa.CheckConstraint("mode IN ('one_to_one', 'peer', 'group', 'reciprocal')", name=op.f('ck_programs_mode')),
    sa.CheckConstraint("status IN ('draft', 'call_open', 'selection', 'training', 'matching', 'mentoring', 'evaluation', 'closed')", name=op.f('ck_programs_status')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_programs_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs')),
    sa.UniqueConstraint('institution_id', 'id', name=op.f('uq_programs_institution_id_id'))
    )
    op.create_table('program_phases',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('program_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.CheckConstraint("kind IN ('call', 'selection', 'training', 'matching', 'mentoring', 'evaluation')", name=op.f('ck_program_phases_kind')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_program_phases_dates')),
    sa.ForeignKeyConstraint(['institution_id', 'program_id'], ['programs.institution_id', 'programs.id'], name=op.f('fk_program_phases_institution_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_phases')),
    sa.UniqueConstraint('program_id', 'kind', name=op.f('uq_program_phases_program_id_kind'))
    )
    with op.batch_alter_table('program_phases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_phases_institution_id'), ['institution_id'], unique=False)

    op.create_table('training_modules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('program_id', sa.Uuid(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('expected_minutes', sa.Integer(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('online_module', 'accompaniment_session')", name=op.f('ck_training_modules_kind')),
    sa.ForeignKeyConstraint(['institution_id', 'program_id'], ['programs.institution_id', 'programs.id'], name=op.f('fk_training_modules_institution_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_modules')),
    sa.UniqueConstraint('institution_id', 'id', name=op.f('uq_training_modules_institution_id_id'))
    )
    with op.batch_alter_table('training_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_modules_program_id'), ['program_id'], unique=False)

    op.create_table('applications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('program_id', sa.Uuid(), nullable=False),
    sa.Column('applicant_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('preferred_language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('campus_id', sa.Uuid(), nullable=True),
    sa.Column('academic_unit_id', sa.Uuid(), nullable=True),
    sa.Column('affiliation', sa.String(length=30), nullable=True),
    sa.Column('career_stage', sa.String(length=30), nullable=True),
    sa.Column('stem_field', sa.String(length=30), nullable=True),
    sa.Column('identifies_as_woman', sa.Boolean(), nullable=True),
    sa.Column('willing_to_train', sa.Boolean(), nullable=True),
    sa.Column('interest', sa.Text(), nullable=True),
    sa.Column('expectations', sa.Text(), nullable=True),
    sa.Column('experience', sa.Text(), nullable=True),
    sa.Column('years_of_experience', sa.Integer(), nullable=True),
    sa.Column('funding_experience', sa.Boolean(), nullable=True),
    sa.Column('has_recognition', sa.Boolean(), nullable=True),
    sa.Column('recognition', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('invited_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('confirm_by', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("affiliation IS NULL OR affiliation IN ('full_time_faculty', 'part_time_faculty', 'undergraduate', 'graduate', 'staff')", name=op.f('ck_applications_affiliation')),
    sa.CheckConstraint("career_stage IS NULL OR career_stage IN ('undergraduate_student', 'graduate_student', 'postdoctoral', 'early_career', 'mid_career', 'senior')", name=op.f('ck_applications_career_stage')),
    sa.CheckConstraint("decision IS NULL OR decision IN ('accepted', 'waitlisted', 'rejected')", name=op.f('ck_applications_decision')),
    sa.CheckConstraint("role IN ('mentor', 'mentee', 'peer_mentor')", name=op.f('ck_applications_role')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'accepted', 'waitlisted', 'rejected', 'invited', 'confirmed', 'declined', 'expired', 'withdrawn')", name=op.f('ck_applications_status')),
    sa.CheckConstraint("stem_field IS NULL OR stem_field IN ('agricultural_sciences', 'biology', 'chemistry', 'computer_science', 'earth_sciences', 'engineering', 'environmental_sciences', 'health_sciences', 'mathematics', 'physics', 'statistics', 'technology', 'social_sciences', 'humanities', 'arts', 'business', 'education', 'law', 'other')", name=op.f('ck_applications_stem_field')),
    sa.ForeignKeyConstraint(['institution_id', 'academic_unit_id'], ['academic_units.institution_id', 'academic_units.id'], name=op.f('fk_applications_institution_id_academic_units')),
    sa.ForeignKeyConstraint(['institution_id', 'campus_id'], ['campuses.institution_id', 'campuses.id'], name=op.f('fk_applications_institution_id_campuses')),
    sa.ForeignKeyConstraint(['institution_id', 'program_id'], ['programs.institution_id', 'programs.id'], name=op.f('fk_applications_institution_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('institution_id', 'id', name=op.f('uq_applications_institution_id_id')),
    sa.UniqueConstraint('program_id', 'applicant_id', name=op.f('uq_applications_program_id_applicant_id'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_academic_unit_id'), ['academic_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_campus_id'), ['campus_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_confirm_by'), ['confirm_by'], unique=False)

    op.create_table('participants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('pronouns', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('campus_id', sa.Uuid(), nullable=True),
    sa.Column('academic_unit_id', sa.Uuid(), nullable=True),
    sa.Column('career_stage', sa.String(length=30), nullable=True),
    sa.Column('stem_fields', sa.JSON(), nullable=False),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('lms_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('hr_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('sis_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('erased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("career_stage IS NULL OR career_stage IN ('undergraduate_student', 'graduate_student', 'postdoctoral', 'early_career', 'mid_career', 'senior')", name=op.f('ck_participants_career_stage')),
    sa.ForeignKeyConstraint(['institution_id', 'academic_unit_id'], ['academic_units.institution_id', 'academic_units.id'], name=op.f('fk_participants_institution_id_academic_units')),
    sa.ForeignKeyConstraint(['institution_id', 'campus_id'], ['campuses.institution_id', 'campuses.id'], name=op.f('fk_participants_institution_id_campuses')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_participants_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('institution_id', 'account_id', name=op.f('uq_participants_institution_id_account_id')),
    sa.UniqueConstraint('institution_id', 'hr_id', name=op.f('uq_participants_institution_id_hr_id')),
    sa.UniqueConstraint('institution_id', 'id', name=op.f('uq_participants_institution_id_id')),
    sa.UniqueConstraint('institution_id', 'lms_id', name=op.f('uq_participants_institution_id_lms_id')),
    sa.UniqueConstraint('institution_id', 'sis_id', name=op.f('uq_participants_institution_id_sis_id'))
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participants_academic_unit_id'), ['academic_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participants_campus_id'), ['campus_id'], unique=False)

    op.create_table('consents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('privacy_notice_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('granted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('program', 'research', 'matching_identity')", name=op.f('ck_consents_purpose')),
    sa.ForeignKeyConstraint(['institution_id', 'application_id'], ['applications.institution_id', 'applications.id'], name=op.f('fk_consents_institution_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_application_id'), ['application_id'], unique=False)

    op.create_table('eligibility_overrides',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id', 'application_id'], ['applications.institution_id', 'applications.id'], name=op.f('fk_eligibility_overrides_institution_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_overrides')),
    sa.UniqueConstraint('application_id', 'rule_id', name=op.f('uq_eligibility_overrides_application_id_rule_id'))
    )
    op.create_table('identity_data',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('gender_identity', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('ethnicity', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('first_generation', sa.Boolean(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id', 'application_id'], ['applications.institution_id', 'applications.id'], name=op.f('fk_identity_data_institution_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_data')),
    sa.UniqueConstraint('application_id', name=op.f('uq_identity_data_application_id'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('program_id', sa.Uuid(), nullable=False),
    sa.Column('participant_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('trained', sa.Boolean(), nullable=False),
    sa.Column('trained_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('mentor', 'mentee', 'peer_mentor')", name=op.f('ck_memberships_role')),
    sa.CheckConstraint("status IN ('active', 'substitute', 'withdrawn', 'completed')", name=op.f('ck_memberships_status')),
    sa.ForeignKeyConstraint(['institution_id', 'application_id'], ['applications.institution_id', 'applications.id'], name=op.f('fk_memberships_institution_id_applications')),
    sa.ForeignKeyConstraint(['institution_id', 'participant_id'], ['participants.institution_id', 'participants.id'], name=op.f('fk_memberships_institution_id_participants')),
    sa.ForeignKeyConstraint(['institution_id', 'program_id'], ['programs.institution_id', 'programs.id'], name=op.f('fk_memberships_institution_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('application_id', name=op.f('uq_memberships_application_id')),
    sa.UniqueConstraint('institution_id', 'id', name=op.f('uq_memberships_institution_id_id')),
    sa.UniqueConstraint('program_id', 'participant_id', name=op.f('uq_memberships_program_id_participant_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_participant_id'), ['participant_id'], unique=False)

    op.create_table('training_completions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('module_id', sa.Uuid(), nullable=False),
    sa.Column('membership_id', sa.Uuid(), nullable=False),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id', 'membership_id'], ['memberships.institution_id', 'memberships.id'], name=op.f('fk_training_completions_institution_id_memberships')),
    sa.ForeignKeyConstraint(['institution_id', 'module_id'], ['training_modules.institution_id', 'training_modules.id'], name=op.f('fk_training_completions_institution_id_training_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_completions')),
    sa.UniqueConstraint('institution_id', 'external_id', name=op.f('uq_training_completions_institution_id_external_id')),
    sa.UniqueConstraint('module_id', 'membership_id', name=op.f('uq_training_completions_module_id_membership_id'))
    )
    with op.batch_alter_table('training_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_completions_membership_id'), ['membership_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('training_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_completions_membership_id'))

    op.drop_table('training_completions')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_participant_id'))

    op.drop_table('memberships')
    op.drop_table('identity_data')
    op.drop_table('eligibility_overrides')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_application_id'))

    op.drop_table('consents')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_campus_id'))
        batch_op.drop_index(batch_op.f('ix_participants_academic_unit_id'))

    op.drop_table('participants')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_confirm_by'))
        batch_op.drop_index(batch_op.f('ix_applications_campus_id'))
        batch_op.drop_index(batch_op.f('ix_applications_applicant_id'))
        batch_op.drop_index(batch_op.f('ix_applications_academic_unit_id'))

    op.drop_table('applications')
    with op.batch_alter_table('training_modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_modules_program_id'))

    op.drop_table('training_modules')
    with op.batch_alter_table('program_phases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_phases_institution_id'))

    op.drop_table('program_phases')
    op.drop_table('programs')
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_requests_institution_id'))

    op.drop_table('erasure_requests')
    # Last: nothing refers to (institution_id, id) on academic_units any more.
    with op.batch_alter_table('academic_units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_academic_units_institution_id_id'), type_='unique')
