"""The tables. Times are timezone-aware UTC; statuses are StrEnums stored as text."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _utc(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column (SQLModel's default drops the zone)."""
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class ProfileField(StrEnum):
    """Profile fields a cadre fills in, in the order registration asks for them."""

    NAME = "name"
    POSITION = "position"
    ORGANISATION = "organisation"


class InterviewStatus(StrEnum):
    """Where an interview stands."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Cadre(SQLModel, table=True):
    """A person who writes reports: one per Telegram user."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    name: str = ""
    position: str = ""
    organisation: str = ""
    language: str = "zh"
    # Which profile field the next text message fills; None when not asking.
    awaiting_field: str | None = None
    registered: bool = False
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    blocked_at: datetime | None = _utc(default=None, nullable=True)


class Interview(SQLModel, table=True):
    """One report being written: its type, language and position in the questionnaire."""

    __table_args__ = (Index("ix_interview_cadre_status", "cadre_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    cadre_id: int = Field(foreign_key="cadre.id")
    report_type: str
    language: str
    period: str
    status: str = InterviewStatus.ACTIVE
    current_question: str | None = None
    awaiting_follow_up: bool = False
    editing_question: str | None = None
    editing_entry: int | None = None
    return_to: str | None = None
    skipped: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Bumped by every change of the position; a confirmation button carries the revision it
    # was asked at, so it acts only on the state it was asked about.
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    started_at: datetime = _utc()
    updated_at: datetime = _utc()
    completed_at: datetime | None = _utc(default=None, nullable=True)


class Answer(SQLModel, table=True):
    """One entry of an answer; questions that take several entries have one row each."""

    __table_args__ = (UniqueConstraint("interview_id", "question_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interview.id", index=True)
    question_id: str
    seq: int = 0
    text: str = Field(sa_type=Text)
    created_at: datetime = _utc()


class Draft(SQLModel, table=True):
    """A generated version of a report; every regeneration adds one."""

    __table_args__ = (UniqueConstraint("interview_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interview.id", index=True)
    version: int
    body: str = Field(sa_type=Text)
    missing: int = 0
    created_at: datetime = _utc()


class ProcessedUpdate(SQLModel, table=True):
    """A Telegram update whose effects are committed; a redelivery of it changes nothing."""

    __tablename__ = "processed_update"

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    processed_at: datetime = _utc()


class InboxUpdate(SQLModel, table=True):
    """A fetched update, stored before its offset is confirmed to Telegram."""

    __tablename__ = "inbox_update"
    __table_args__ = (
        # What recovery reads (updates not handled yet, in order) and what pruning reads
        # (failed ones by age), without scanning the rest.
        Index(
            "ix_inbox_update_pending",
            "update_id",
            sqlite_where=text("failed_at IS NULL"),
            postgresql_where=text("failed_at IS NULL"),
        ),
        Index("ix_inbox_update_failed_at", "failed_at"),
    )

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    payload: str = Field(sa_type=Text)
    received_at: datetime = _utc()
    attempts: int = 0
    failed_at: datetime | None = _utc(default=None, nullable=True)


class BotIdentity(SQLModel, table=True):
    """The Telegram bot this database belongs to (one row): another bot is refused at start,
    since update ids, chats and the polling lease are the bot's own."""

    __tablename__ = "bot_identity"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    bot_id: int = Field(sa_type=BigInteger)
    username: str = ""
    claimed_at: datetime = _utc()
    last_started_at: datetime = _utc()
