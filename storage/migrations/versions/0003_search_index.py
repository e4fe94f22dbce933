"""customer search index: FTS5 trigram on SQLite, pg_trgm (and 1-2 character grams) on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Both index ``customers.search_text`` (kept by the customer repository, see
``crm.text.search_document``). None of this is in the ORM metadata: autogenerate comparisons
must leave it out (``storage.search.include_object``).

SQLite: ``customer_search`` is an external-content FTS5 table (it stores only the index and
reads the text from ``customers``), kept in step by three triggers; ``customer_search_vocab``
(fts5vocab) lists its trigrams, which lets keys of 1-2 characters use the index too.
A later migration that rebuilds ``customers`` (``batch_alter_table`` does, on SQLite) drops
the triggers with the old table: it must create them again and ``rebuild`` the index.

PostgreSQL: a GIN ``gin_trgm_ops`` index on ``search_text`` serves LIKE for 3 characters and
more; trigrams cannot serve 1-2 characters, so a GIN index over the 1-2 character grams of
``name_key || ' ' || name_initials`` does (function ``kehu_search_grams``).

Both: an index on ``contacts.name`` (case-insensitive) finds contacts by a 1-2 character name
(王芳).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Both: contacts by exact name, case-insensitive, for person names of 1-2 characters (王芳)
# that trigrams cannot see. (SQLite gets a NOCASE column index: SQLAlchemy cannot reflect
# expression indexes there and would warn on every schema comparison.)
SQLITE_CONTACT_NAME_INDEX = "CREATE INDEX ix_contacts_name_lower ON contacts (name COLLATE NOCASE)"
POSTGRESQL_CONTACT_NAME_INDEX = "CREATE INDEX ix_contacts_name_lower ON contacts (lower(name))"

SQLITE_UPGRADE = (
    """
    CREATE VIRTUAL TABLE customer_search USING fts5(
        search_text, content='customers', content_rowid='id', tokenize='trigram'
    )
    """,
    # The index's vocabulary (trigram → documents), to expand keys of 1-2 characters.
    "CREATE VIRTUAL TABLE customer_search_vocab USING fts5vocab('customer_search', 'row')",
    """
    CREATE TRIGGER customer_search_after_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_search(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    """
    CREATE TRIGGER customer_search_after_delete AFTER DELETE ON customers BEGIN
        INSERT INTO customer_search(customer_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END
    """,
    """
    CREATE TRIGGER customer_search_after_update AFTER UPDATE OF id, search_text ON customers
    BEGIN
        INSERT INTO customer_search(customer_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO customer_search(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    "INSERT INTO customer_search(customer_search) VALUES ('rebuild')",
    SQLITE_CONTACT_NAME_INDEX,
)

SQLITE_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_contacts_name_lower",
    "DROP TRIGGER IF EXISTS customer_search_after_update",
    "DROP TRIGGER IF EXISTS customer_search_after_delete",
    "DROP TRIGGER IF EXISTS customer_search_after_insert",
    "DROP TABLE IF EXISTS customer_search_vocab",
    "DROP TABLE IF EXISTS customer_search",
)

# pg_trgm is created only when missing, and then marked, so that the downgrade drops it only if
# this revision created it (an extension a DBA installed beforehand, or that other objects now
# use, stays).
TRGM_MARK = "kehu 0003: trigram indexes for the customer search"

POSTGRESQL_UPGRADE = (
    f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE EXTENSION pg_trgm;
            COMMENT ON EXTENSION pg_trgm IS '{TRGM_MARK}';
        END IF;
    END
    $$
    """,
    """
    CREATE FUNCTION kehu_search_grams(value text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT regexp_split_to_array(value, '') || ARRAY(
            SELECT substr(value, position, 2)
            FROM generate_series(1, char_length(value) - 1) AS position
        )
    $$
    """,
    """
    CREATE INDEX ix_customers_search_text_trgm ON customers
    USING gin (search_text gin_trgm_ops)
    """,
    """
    CREATE INDEX ix_customers_search_grams ON customers
    USING gin (kehu_search_grams(name_key || ' ' || name_initials))
    """,
    POSTGRESQL_CONTACT_NAME_INDEX,
)

POSTGRESQL_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_contacts_name_lower",
    "DROP INDEX IF EXISTS ix_customers_search_grams",
    "DROP INDEX IF EXISTS ix_customers_search_text_trgm",
    "DROP FUNCTION IF EXISTS kehu_search_grams(text)",
    f"""
    DO $$
    BEGIN
        IF obj_description(
            (SELECT oid FROM pg_extension WHERE extname = 'pg_trgm'), 'pg_extension'
        ) = '{TRGM_MARK}' THEN
            DROP EXTENSION pg_trgm;
        END IF;
    EXCEPTION WHEN dependent_objects_still_exist THEN
        NULL;  -- something else uses it now: leave it
    END
    $$
    """,
)


def upgrade() -> None:
    for statement in _statements(SQLITE_UPGRADE, POSTGRESQL_UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(SQLITE_DOWNGRADE, POSTGRESQL_DOWNGRADE):
        op.execute(statement)


def _statements(sqlite: tuple[str, ...], postgresql: tuple[str, ...]) -> tuple[str, ...]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgresql
    return ()
