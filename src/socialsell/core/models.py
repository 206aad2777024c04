"""Tables of the job infrastructure itself.

These are infrastructure, not tenant data: they describe the processes that run the product, not
any workspace's content, so they carry no ``workspace_id`` and are never read through a
workspace-scoped repository.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from socialsell.db import Base


class SchedulerLease(Base):
    """One row per periodic task (``@periodic``), shared by every scheduler tick process.

    A tick runs a periodic task only after winning an atomic conditional UPDATE on its row
    (``next_run_at <= now`` and no live lock), which moves ``next_run_at`` one interval ahead, so
    the task runs once per interval however many ticks run at once. ``locked_until`` stops a run
    that outlasts its interval from overlapping the next one, and expires on its own if the
    process running it dies. No workspace_id: this is infrastructure (see the module docstring).
    """

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_run_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    # "host:pid:random" of the tick that holds (or last held) the lock; for operators.
    owner: Mapped[str | None] = mapped_column(String(200))
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
