"""SQLAlchemy models. Nothing here imports from `bot` or `handlers`."""

from models.base import Base
from models.conversation import BindFailure, ChatState
from models.identity import BindCode, ChatIdentity
from models.inbound import SeenUpdate
from models.org import Department, Employee, Group, Institution, Role, RoleGrant
from models.outbox import OutboxMessage, OutboxState
from models.period import (
    AuditEvent,
    AuditHead,
    Period,
    PeriodKind,
    PeriodState,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
    TracePart,
)
from models.schedule import Lease, apscheduler_jobs
from models.scheme import GradeBand, Indicator, IndicatorKind, PayMode, Scheme, ScorerRole

__all__ = [
    "AuditEvent",
    "AuditHead",
    "Base",
    "BindCode",
    "BindFailure",
    "ChatIdentity",
    "ChatState",
    "Department",
    "Employee",
    "GradeBand",
    "Group",
    "Indicator",
    "IndicatorKind",
    "Institution",
    "Lease",
    "OutboxMessage",
    "OutboxState",
    "PayMode",
    "Period",
    "PeriodKind",
    "PeriodState",
    "Result",
    "Role",
    "RoleGrant",
    "Scheme",
    "ScoreEntry",
    "ScorerRole",
    "ScoringTask",
    "SeenUpdate",
    "TaskState",
    "TracePart",
    "apscheduler_jobs",
]
