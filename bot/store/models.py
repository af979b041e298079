"""The tables. Times are timezone-aware UTC; statuses are StrEnums stored as text."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp with time zone that always reads back as aware UTC. SQLite keeps no zone
    (what we store is UTC, read back naive); PostgreSQL's comes back aware already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _utc(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column (SQLModel's default drops the zone)."""
    return Field(sa_type=UtcDateTime, **kwargs)


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
    """A person who talks to the bot, one per Telegram user: writes reports, and may
    supervise teams and belong to others (roles are memberships, not kinds of person)."""

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
    # An invite link opened before registration ended: the join is confirmed once it has.
    pending_invite: str | None = None
    # What the next text is, outside the interview: "comment:<version id>" (a supervisor
    # returning a report), "team_name" or "rename:<team id>". Takes precedence over the
    # interview; any command or other button clears it.
    awaiting_input: str | None = None
    # An IANA zone the person chose (/timezone); None: their team's.
    timezone: str | None = None
    # Away until then (/away): reminders due before it are not sent.
    away_until: datetime | None = _utc(default=None, nullable=True)


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
    # The questionnaire version the interview is asked with (`Questionnaire.as_of`): one
    # under way moves to the current version when loaded; a completed one keeps its own.
    questionnaire_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
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


class Role(StrEnum):
    """A person's part in a team."""

    SUPERVISOR = "supervisor"
    MEMBER = "member"


class LeftHow(StrEnum):
    """How a membership ended."""

    LEFT = "left"
    REMOVED = "removed"


# Ids that buttons and marks carry must never name another row later: SQLite hands a
# deleted highest id out again unless the table is AUTOINCREMENT (PostgreSQL never does).
_NEVER_REUSED = {"sqlite_autoincrement": True}


class Team(SQLModel, table=True):
    """A group of cadres who submit reports to the team's supervisors."""

    __table_args__ = (_NEVER_REUSED,)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    created_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    # Deadlines are set and shown in this zone; members without one of their own get it.
    timezone: str = Field(
        default="Asia/Shanghai", sa_column_kwargs={"server_default": "Asia/Shanghai"}
    )
    # Which days reminders avoid (bot.cycles.calendar.DaysOff).
    days_off: str = Field(default="statutory", sa_column_kwargs={"server_default": "statutory"})
    # Members who missed a deadline are reminded every working morning until they submit.
    overdue_daily: bool = Field(
        default=True, sa_type=Boolean, sa_column_kwargs={"server_default": text("true")}
    )


class Membership(SQLModel, table=True):
    """A person in a team, as supervisor or member; kept after they leave (`left_at`), so
    their submissions stay with the team as those of a former member."""

    __table_args__ = (UniqueConstraint("team_id", "cadre_id"), _NEVER_REUSED)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", ondelete="CASCADE", index=True)
    role: str = Role.MEMBER
    joined_at: datetime = _utc()
    left_at: datetime | None = _utc(default=None, nullable=True)
    left_how: str | None = None


class Invite(SQLModel, table=True):
    """An invite code of a team: a member invite (used by many until rotated or deleted),
    or a co-supervisor invite (one use)."""

    __table_args__ = (_NEVER_REUSED,)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    code: str = Field(unique=True, index=True)
    role: str = Role.MEMBER
    created_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None, nullable=True)
    used_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")
    used_at: datetime | None = _utc(default=None, nullable=True)


class SubmissionStatus(StrEnum):
    """Where a submitted report stands with its supervisors."""

    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"


class Submission(SQLModel, table=True):
    """One person's report of a type and period, sent to a team: its versions, and the
    supervisors' decision on the latest. `cycle_id` is for reporting cycles."""

    __table_args__ = (
        UniqueConstraint("team_id", "cadre_id", "report_type", "period"),
        Index("ix_submission_team_type_period", "team_id", "report_type", "period"),
        _NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE")
    cadre_id: int = Field(foreign_key="cadre.id", ondelete="CASCADE", index=True)
    cycle_id: int | None = None
    report_type: str
    period: str
    status: str = SubmissionStatus.SUBMITTED
    version: int = 1  # the newest version's number; decisions are taken on it
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    decided_at: datetime | None = _utc(default=None, nullable=True)
    decided_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")


class SubmissionVersion(SQLModel, table=True):
    """A submitted version, frozen: the report's blocks and the .docx bytes as sent."""

    __tablename__ = "submission_version"
    __table_args__ = (UniqueConstraint("submission_id", "number"), _NEVER_REUSED)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", ondelete="CASCADE", index=True)
    number: int
    interview_id: int | None = Field(default=None, foreign_key="interview.id", ondelete="SET NULL")
    draft_version: int = 0
    language: str = "zh"
    body: str = Field(sa_type=Text)
    docx: bytes = Field(sa_type=LargeBinary)
    filename: str = ""
    characters: int = 0
    # Pre-submission warnings the cadre submitted despite: [{"rule", "question", "message"}].
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Which wording each section was submitted in ({section id: "own" | "polished"}).
    wording: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    submitted_at: datetime = _utc()


class Decision(StrEnum):
    """A supervisor's decision on a version."""

    APPROVED = "approved"
    RETURNED = "returned"


class ReviewDecision(SQLModel, table=True):
    """A supervisor's decision on one version, with the comment of a return. One per
    version: the first decision wins."""

    __tablename__ = "review_decision"
    __table_args__ = (UniqueConstraint("submission_id", "version"), _NEVER_REUSED)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", ondelete="CASCADE", index=True)
    version: int
    decision: str
    comment: str = Field(default="", sa_type=Text)
    decided_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")
    decided_at: datetime = _utc()


class CommentPrompt(SQLModel, table=True):
    """A "write your comment" message the bot sent: a reply to it is the comment on that
    version, even after the stored mark was cancelled."""

    __tablename__ = "comment_prompt"

    chat_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    message_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    version_id: int = Field(foreign_key="submission_version.id", ondelete="CASCADE")
    created_at: datetime = _utc()


class Outbox(SQLModel, table=True):
    """A message to someone other than the person in front of the bot (a supervisor told
    of a submission, a cadre told of a decision), written in the transaction that caused
    it and sent by the background sender, which marks it."""

    __table_args__ = (
        Index(
            "ix_outbox_due",
            "due_at",
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
        _NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="cadre.id", ondelete="CASCADE", index=True)
    # Whom the message is about (a member who joined, the supervisor who decided): their
    # /forget_me removes it once it has been delivered or given up.
    about_id: int | None = Field(
        default=None, foreign_key="cadre.id", ondelete="SET NULL", index=True
    )
    kind: str
    # The submitted version it is about (its .docx is attached), if any.
    version_id: int | None = Field(
        default=None, foreign_key="submission_version.id", ondelete="CASCADE", index=True
    )
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()
    due_at: datetime = _utc()
    attempts: int = 0
    sent_at: datetime | None = _utc(default=None, nullable=True)
    failed_at: datetime | None = _utc(default=None, nullable=True)
    error: str | None = None


class CycleStatus(StrEnum):
    """Where a reporting cycle stands."""

    DRAFT = "draft"  # being set up by a supervisor, not yet announced
    OPEN = "open"
    CLOSED = "closed"


class Cycle(SQLModel, table=True):
    """A reporting cycle of a team: a report type and period due by a deadline, with the
    offsets before it at which members who have not submitted are reminded."""

    __table_args__ = (
        Index("ix_cycle_team_type_period", "team_id", "report_type", "period"),
        _NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    report_type: str = ""
    period: str = ""
    title: str = ""
    deadline_at: datetime | None = _utc(default=None, nullable=True)
    offsets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = CycleStatus.DRAFT
    created_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    opened_at: datetime | None = _utc(default=None, nullable=True)
    closed_at: datetime | None = _utc(default=None, nullable=True)
    # Bumped by every change: a confirmation button acts only on what it was asked about.
    revision: int = 0


class CycleExemption(SQLModel, table=True):
    """A member a supervisor excused from a cycle: not reminded, not counted as missing."""

    __tablename__ = "cycle_exemption"

    cycle_id: int = Field(foreign_key="cycle.id", ondelete="CASCADE", primary_key=True)
    cadre_id: int = Field(foreign_key="cadre.id", ondelete="CASCADE", primary_key=True)
    exempted_by: int | None = Field(default=None, foreign_key="cadre.id", ondelete="SET NULL")
    created_at: datetime = _utc()


class ReminderKind(StrEnum):
    """What a reminder row sends."""

    BEFORE = "before"  # to a member, before the deadline (also "remind me later")
    OVERDUE = "overdue"  # to a member, at the deadline and then daily
    DIGEST = "digest"  # to a supervisor, at the deadline and then daily


class ReminderState(StrEnum):
    """Where a reminder row stands."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher until `claimed_until`
    SENT = "sent"
    SKIPPED = "skipped"  # no longer applies (submitted, exempt, away, replaced, closed)
    UNCERTAIN = "uncertain"  # timed out twice: perhaps delivered, not tried again
    FAILED = "failed"  # the person blocked the bot, or Telegram refused it


ACTIVE_REMINDER_STATES = (ReminderState.PENDING.value, ReminderState.SENDING.value)


class Reminder(SQLModel, table=True):
    """One message planned for one person at one moment. A dispatcher claims due rows,
    sends them, and marks them; the text is written when it is sent."""

    __table_args__ = (
        # What the dispatcher reads: rows still to send, by planned time.
        Index(
            "ix_reminder_due",
            "planned_at",
            "id",
            sqlite_where=text("state IN ('pending', 'sending')"),
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
        # When a held-back row (quiet hours, a retry) may next be claimed.
        Index(
            "ix_reminder_pending_not_before",
            "not_before",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_reminder_cycle_recipient", "cycle_id", "recipient_id"),
        _NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", ondelete="CASCADE")
    recipient_id: int = Field(foreign_key="cadre.id", ondelete="CASCADE", index=True)
    kind: str = ReminderKind.BEFORE
    label: str = ""  # the offset ("7d", "2h"), "later", "due" or "daily"
    planned_at: datetime = _utc()
    not_before: datetime = _utc()
    silent: bool = False
    state: str = ReminderState.PENDING
    claimed_until: datetime | None = _utc(default=None, nullable=True)
    attempts: int = 0
    sent_at: datetime | None = _utc(default=None, nullable=True)
    error: str | None = None


class RewriteState(StrEnum):
    """Where a rewrite job stands."""

    QUEUED = "queued"  # waiting for a free slot (or for its lease to run out after a crash)
    RUNNING = "running"  # sections being rewritten
    DONE = "done"  # every section rewritten or kept; the cadre not yet told
    TOLD = "told"  # the cadre has the summary


class RewriteJob(SQLModel, table=True):
    """A cadre's request to polish a draft's wording with the language model: run in the
    background section by section; each finished section is a `SectionWording` row, so a
    restart resumes where it stopped."""

    __tablename__ = "rewrite_job"
    __table_args__ = (
        Index(
            "ix_rewrite_job_open",
            "state",
            "id",
            sqlite_where=text("state != 'told'"),
            postgresql_where=text("state != 'told'"),
        ),
        _NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interview.id", ondelete="CASCADE", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", ondelete="CASCADE", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    state: str = RewriteState.QUEUED
    # The sections to rewrite, in report order (those with answers when it was asked).
    sections: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The one message that shows progress, edited as sections finish.
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    claimed_until: datetime | None = _utc(default=None, nullable=True)
    attempts: int = 0
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class Wording(StrEnum):
    """Which wording a section of a draft is in."""

    OWN = "own"  # the template's, from the cadre's answers as given
    POLISHED = "polished"  # the language model's rewrite, fact-checked


class SectionWording(SQLModel, table=True):
    """One section's outcome of a rewrite job: the polished text, or why the cadre's own
    wording was kept. Valid only while the section's answers are those it was made from
    (`source_hash`); `chosen` is the cadre's switch between the two wordings."""

    __tablename__ = "section_wording"
    __table_args__ = (
        UniqueConstraint("job_id", "section_id"),
        Index("ix_section_wording_interview_section", "interview_id", "section_id"),
        _NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="rewrite_job.id", ondelete="CASCADE")
    interview_id: int = Field(foreign_key="interview.id", ondelete="CASCADE")
    section_id: str
    source_hash: str
    text: str = Field(default="", sa_type=Text)  # the polished prose; empty when kept
    polished: bool = False
    # Why the own wording was kept: the fact check's findings or the endpoint's failure.
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    chosen: bool = False
    created_at: datetime = _utc()
