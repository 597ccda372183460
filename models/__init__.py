"""SQLAlchemy models. Nothing here imports from `bot` or `handlers`."""

from models.acceptance import (
    AcceptanceCheck,
    AcceptanceResult,
    LegacyResult,
    Stage,
    StageReached,
    StageTarget,
)
from models.appeal import OPEN_STATES, Adjustment, Appeal, AppealState, Confirmation
from models.base import Base
from models.calibration import Calibration, CalibrationRole
from models.conversation import BindFailure, ChatState
from models.identity import BindCode, ChatIdentity
from models.inbound import SeenUpdate
from models.org import Department, Employee, Group, Institution, Role, RoleGrant
from models.outbox import OutboxMessage, OutboxState
from models.period import (
    AuditEvent,
    AuditHead,
    MetricValue,
    Period,
    PeriodKind,
    PeriodState,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
    TracePart,
)
from models.schedule import Lease, SendBudgetRow
from models.scheme import (
    GradeBand,
    Indicator,
    IndicatorKind,
    PayMode,
    PositionTarget,
    QuotaBound,
    QuotaRounding,
    QuotaRule,
    QuotaScope,
    Scheme,
    ScorerRole,
    Section,
)

__all__ = [
    "OPEN_STATES",
    "AcceptanceCheck",
    "AcceptanceResult",
    "Adjustment",
    "Appeal",
    "AppealState",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BindCode",
    "BindFailure",
    "Calibration",
    "CalibrationRole",
    "ChatIdentity",
    "ChatState",
    "Confirmation",
    "Department",
    "Employee",
    "GradeBand",
    "Group",
    "Indicator",
    "IndicatorKind",
    "Institution",
    "Lease",
    "LegacyResult",
    "MetricValue",
    "OutboxMessage",
    "OutboxState",
    "PayMode",
    "Period",
    "PeriodKind",
    "PeriodState",
    "PositionTarget",
    "QuotaBound",
    "QuotaRounding",
    "QuotaRule",
    "QuotaScope",
    "Result",
    "Role",
    "RoleGrant",
    "Scheme",
    "ScoreEntry",
    "ScorerRole",
    "ScoringTask",
    "Section",
    "SeenUpdate",
    "SendBudgetRow",
    "Stage",
    "StageReached",
    "StageTarget",
    "TaskState",
    "TracePart",
]
