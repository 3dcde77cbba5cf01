"""form readings and registry persons

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("form", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("readable", sa.Boolean(), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("form_reading", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_reading_attachment_id"), ["attachment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_reading_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_form_reading_unit_month_form", ["unit", "month", "form"], unique=False)

    op.create_table(
        "person_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reading_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("sheet", sa.Text(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("disability_id", sa.String(length=64), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["reading_id"], ["form_reading.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_row_disability_id"), ["disability_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_row_id_number"), ["id_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_row_reading_id"), ["reading_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_row_reading_id"))
        batch_op.drop_index(batch_op.f("ix_person_row_id_number"))
        batch_op.drop_index(batch_op.f("ix_person_row_disability_id"))

    op.drop_table("person_row")
    with op.batch_alter_table("form_reading", schema=None) as batch_op:
        batch_op.drop_index("ix_form_reading_unit_month_form")
        batch_op.drop_index(batch_op.f("ix_form_reading_message_id"))
        batch_op.drop_index(batch_op.f("ix_form_reading_attachment_id"))

    op.drop_table("form_reading")
