"""search newest first: a stored tsvector on PostgreSQL, messages indexed by workspace and time

At a million messages, ranking every match of a common word re-parsed each message's text
(the GIN index was on an expression) and took over a second. Now:
- PostgreSQL keeps the tsvector in a generated column (no trigger to maintain; nothing to
  re-parse when checking or ranking a row), with the GIN index on it;
- results come newest first, and (workspace_id, sent_at) lets the planner walk a workspace's
  messages backwards for common words and use the GIN index for rare ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_workspace_id")
        batch_op.create_index(
            "ix_messages_workspace_sent", ["workspace_id", "sent_at"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_search")
        op.execute(
            "ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english'::regconfig, search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
        op.execute(
            "CREATE INDEX ix_messages_search ON messages "
            "USING gin (to_tsvector('english'::regconfig, search_text))"
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_workspace_sent")
        batch_op.create_index("ix_messages_workspace_id", ["workspace_id"], unique=False)
