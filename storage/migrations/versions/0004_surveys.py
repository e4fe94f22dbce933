"""surveys: versions, links, invitations, responses; the keyword → tag dictionary; tag sources

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keyword_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_tags")),
        sa.UniqueConstraint("keyword", name=op.f("uq_keyword_tags_keyword")),
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "closed",
                name="survey_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["members.id"],
            name=op.f("fk_surveys_created_by_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("form_id", name=op.f("uq_surveys_form_id")),
    )
    op.create_table(
        "survey_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "channel",
                "personal",
                name="survey_link_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["members.id"],
            name=op.f("fk_survey_links_created_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_survey_links_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_links_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_links")),
        sa.UniqueConstraint("token", name=op.f("uq_survey_links_token")),
    )
    with op.batch_alter_table("survey_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_links_survey_customer", ["survey_id", "customer_id"], unique=False
        )

    op.create_table(
        "survey_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["members.id"],
            name=op.f("fk_survey_versions_created_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_versions_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_versions")),
        sa.UniqueConstraint("survey_id", "number", name=op.f("uq_survey_versions_survey_id")),
    )
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_survey_invitations_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["members.id"],
            name=op.f("fk_survey_invitations_invited_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["survey_links.id"],
            name=op.f("fk_survey_invitations_link_id_survey_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_invitations_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint(
            "survey_id", "customer_id", name=op.f("uq_survey_invitations_survey_id")
        ),
    )
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_invitations_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "opened",
                "declined",
                "answering",
                "completed",
                "quota_full",
                name="response_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("current", sa.String(length=64), nullable=True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_survey_responses_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["survey_links.id"],
            name=op.f("fk_survey_responses_link_id_survey_links"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_responses_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["survey_versions.id"],
            name=op.f("fk_survey_responses_version_id_survey_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("survey_id", "telegram_id", name=op.f("uq_survey_responses_survey_id")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_responses_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_survey_responses_survey_state", ["survey_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_survey_responses_telegram_id"), ["telegram_id"], unique=False
        )

    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_ref", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_customer_tags_source_ref"), ["source_ref"], unique=False
        )
    _seed_keyword_tags()


def downgrade() -> None:
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_tags_source_ref"))
        batch_op.drop_column("source_ref")

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_telegram_id"))
        batch_op.drop_index("ix_survey_responses_survey_state")
        batch_op.drop_index(batch_op.f("ix_survey_responses_customer_id"))

    op.drop_table("survey_responses")
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_invitations_customer_id"))

    op.drop_table("survey_invitations")
    op.drop_table("survey_versions")
    with op.batch_alter_table("survey_links", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_links_survey_customer")

    op.drop_table("survey_links")
    op.drop_table("surveys")
    op.drop_table("keyword_tags")


# The keyword → tag dictionary the admin starts from (seed 000: tags from open answers).
_KEYWORD_TAGS = {
    "价格高": "价格敏感型",
    "太贵": "价格敏感型",
    "贵": "价格敏感型",
    "预算": "价格敏感型",
    "折扣": "价格敏感型",
    "expensive": "价格敏感型",
    "price": "价格敏感型",
    "功能": "技术偏好型",
    "技术": "技术偏好型",
    "集成": "技术偏好型",
    "接口": "技术偏好型",
    "feature": "技术偏好型",
    "integration": "技术偏好型",
    "服务": "服务关注型",
    "售后": "服务关注型",
    "响应": "服务关注型",
    "support": "服务关注型",
    "质量": "品质关注型",
    "稳定": "品质关注型",
    "quality": "品质关注型",
}


def _seed_keyword_tags() -> None:
    table = sa.table(
        "keyword_tags",
        sa.column("keyword", sa.String),
        sa.column("tag", sa.String),
        sa.column("created_at", UTCDateTime()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table, [{"keyword": k, "tag": t, "created_at": now} for k, t in _KEYWORD_TAGS.items()]
    )
