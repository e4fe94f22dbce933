"""The schema. Later features add their tables here and a migration under ``migrations``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.customers import FieldKind, Stage, TagSource
from crm.followups import ContactMethod, TaskState
from crm.members import Role
from crm.outbox import OutboxStatus
from crm.surveys.records import LinkKind, ResponseState, SurveyStatus
from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


def _enum(enum_class: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class MemberRow(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(server_default=true())
    reachable: Mapped[bool] = mapped_column(server_default=true())
    menu_signature: Mapped[str | None] = mapped_column(String(64))
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" in their time zone
    digest_enabled: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InvitationRow(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None]


class ProcessedUpdateRow(Base):
    """Telegram update ids already handled, so a redelivered update is ignored."""

    __tablename__ = "processed_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(index=True)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_not_before", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(server_default="0")
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]


class CounterRow(Base):
    """Named counters incremented atomically (customer codes CRM0001, ...)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_owner_stage", "owner_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)  # normalised, for equality
    name_pinyin: Mapped[str] = mapped_column(String(600))
    name_initials: Mapped[str] = mapped_column(String(200), index=True)
    search_text: Mapped[str] = mapped_column(Text)  # all searchable keys, kept by the repository
    industry: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    demand_type: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    route: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[Stage] = mapped_column(_enum(Stage, "stage"), index=True)
    grade: Mapped[str | None] = mapped_column(String(1))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)
    custom_fields: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    stage_changed_at: Mapped[datetime]
    last_followup_at: Mapped[datetime | None] = mapped_column(index=True)


class ContactRow(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))  # normalised digits, stored whole
    phone_reversed: Mapped[str | None] = mapped_column(String(32), index=True)  # tail search
    email: Mapped[str | None] = mapped_column(String(200))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    is_primary: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[datetime]


class TagRow(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    weight: Mapped[int] = mapped_column(server_default="0")
    in_catalogue: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[datetime]


class CustomerTagRow(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    source: Mapped[TagSource] = mapped_column(_enum(TagSource, "tag_source"))
    automatic: Mapped[bool] = mapped_column(server_default=false())
    added_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    added_at: Mapped[datetime]
    source_ref: Mapped[str | None] = mapped_column(String(64), index=True)  # e.g. "survey:3"


class ChoiceOptionRow(Base):
    """The choices offered as buttons for industry, size, source, demand type, region, route."""

    __tablename__ = "choice_options"
    __table_args__ = (UniqueConstraint("list_key", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_key: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(server_default="0")
    active: Mapped[bool] = mapped_column(server_default=true())


class CustomFieldRow(Base):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    kind: Mapped[FieldKind] = mapped_column(_enum(FieldKind, "field_kind"))
    choices: Mapped[dict[str, Any]]  # {"options": [...]} for choice fields
    position: Mapped[int] = mapped_column(server_default="0")
    active: Mapped[bool] = mapped_column(server_default=true())


class StageChangeRow(Base):
    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[Stage | None] = mapped_column(_enum(Stage, "from_stage"))
    to_stage: Mapped[Stage] = mapped_column(_enum(Stage, "to_stage"))
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(index=True)


class DealRow(Base):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    deal_date: Mapped[date] = mapped_column(Date, index=True)
    product: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class FollowUpRow(Base):
    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    happened_at: Mapped[datetime] = mapped_column(index=True)
    method: Mapped[ContactMethod] = mapped_column(_enum(ContactMethod, "contact_method"))
    summary: Mapped[str] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    demand_change: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    telegram_file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_state_remind_at", "state", "remind_at"),
        Index("ix_tasks_assignee_state_due_at", "assignee_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    assignee_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime]
    method: Mapped[ContactMethod | None] = mapped_column(_enum(ContactMethod, "contact_method"))
    talking_points: Mapped[str | None] = mapped_column(Text)
    state: Mapped[TaskState] = mapped_column(_enum(TaskState, "task_state"))
    remind_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    overdue_warned_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DialogRow(Base):
    """A half-finished conversation (new customer, follow-up draft, ...), one per member, kept
    in the database so that it survives a restart."""

    __tablename__ = "dialogs"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExportJobRow(Base):
    """An export asked for and not yet delivered: at most one per member. The process building
    it holds the claim (``claimed_at`` renewed as it goes); a claim gone stale means that
    process stopped, and another one builds the export again."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]


class SurveyRow(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[SurveyStatus] = mapped_column(_enum(SurveyStatus, "survey_status"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SurveyVersionRow(Base):
    """A survey as imported; answers keep the version they were given under."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    number: Mapped[int]
    version: Mapped[str] = mapped_column(String(32))
    form: Mapped[dict[str, Any]]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class SurveyLinkRow(Base):
    __tablename__ = "survey_links"
    __table_args__ = (Index("ix_survey_links_survey_customer", "survey_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[LinkKind] = mapped_column(_enum(LinkKind, "survey_link_kind"))
    channel: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class SurveyInvitationRow(Base):
    """One customer invited to one survey, in the chat or by a personal link."""

    __tablename__ = "survey_invitations"
    __table_args__ = (UniqueConstraint("survey_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[int] = mapped_column(ForeignKey("survey_links.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime]


class SurveyResponseRow(Base):
    """A respondent's progress and answers: a restart resumes at the same question."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "telegram_id"),
        Index("ix_survey_responses_survey_state", "survey_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id", ondelete="CASCADE"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("survey_links.id", ondelete="SET NULL"))
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[ResponseState] = mapped_column(_enum(ResponseState, "response_state"))
    seed: Mapped[int]
    current: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[dict[str, Any]]  # {"names": [...]}
    answers: Mapped[dict[str, Any]]
    flags: Mapped[dict[str, Any]]  # {"flags": [...]}
    valid: Mapped[bool | None]
    opened_at: Mapped[datetime]
    consented_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class KeywordTagRow(Base):
    """The admin's dictionary: a keyword in an open answer gives the respondent a tag."""

    __tablename__ = "keyword_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(String(64), unique=True)
    tag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
