"""The public search's full-text structures (issue 19), by database, maintained by `assist._search`:

- SQLite: `assist_searchfts`, an FTS5 table over the analysed text (folded, stemmed by `_analysis`), its rowid
  being the page id;
- PostgreSQL: the extensions `unaccent` and `pg_trgm`, the `french_unaccent` text search configuration (a copy of
  `french` with `unaccent` before `french_stem`), `assist_searchdoc` with a weighted tsvector and its GIN index;
- both: `assist_searchvocab`, the index's words (for the typo layer), with a trigram index on PostgreSQL.

Reversing drops the tables and the configuration; the extensions stay (other objects of the database may use
them, and creating them needs rights the reverse may not have)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE assist_searchfts USING fts5(title, keywords, summary, body, words UNINDEXED, "
    "themes UNINDEXED, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TABLE assist_searchvocab (word varchar(100) NOT NULL PRIMARY KEY, stem varchar(100) NOT NULL, "
    "df integer NOT NULL)",
    "CREATE INDEX assist_searchvocab_stem ON assist_searchvocab (stem)",
]
SQLITE_REVERSE = ["DROP TABLE IF EXISTS assist_searchvocab", "DROP TABLE IF EXISTS assist_searchfts"]

POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN
           CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
           ALTER TEXT SEARCH CONFIGURATION french_unaccent
             ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
         END IF;
       END $$""",
    "CREATE TABLE assist_searchdoc (page_id bigint NOT NULL PRIMARY KEY, title text NOT NULL, "
    "keywords text NOT NULL, summary text NOT NULL, body text NOT NULL, words text NOT NULL, themes text NOT NULL, "
    "document tsvector NOT NULL)",
    "CREATE INDEX assist_searchdoc_document ON assist_searchdoc USING gin (document)",
    "CREATE TABLE assist_searchvocab (word varchar(100) NOT NULL PRIMARY KEY, stem varchar(100) NOT NULL, "
    "df integer NOT NULL)",
    "CREATE INDEX assist_searchvocab_stem ON assist_searchvocab (stem)",
    # On lower(word) (words are already lowercase): a trigram index on `word` itself is also chosen by the planner
    # for `word = ANY(...)`, and that is 100 times slower than the primary key.
    "CREATE INDEX assist_searchvocab_trgm ON assist_searchvocab USING gin (lower(word) gin_trgm_ops)",
]
POSTGRESQL_REVERSE = ["DROP TABLE IF EXISTS assist_searchvocab", "DROP TABLE IF EXISTS assist_searchdoc",
                      "DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent"]


def run(statements: dict[str, list[str]]) -> Any:
    def operation(apps: Any, schema_editor: Any) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)
    return operation


class Migration(migrations.Migration):

    dependencies = [("assist", "0001_initial")]

    operations = [
        migrations.RunPython(run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
                             run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE})),
    ]
