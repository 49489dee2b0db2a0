# ruff: noqa: S608  (constant DDL, no input)
"""SQLite search reads matches newest first straight from the index.

The FTS5 table of messages becomes contentless with a rowid that sorts by time:
``(unix seconds of created_at << 31) + message id`` (unique, since the id is; the id is
its low 31 bits). ``ORDER BY rowid DESC`` then walks matches newest first, so the newest
50 of a common word cost 50 reads, whatever order the messages were stored in (a history
import brings old messages with new ids). PostgreSQL is unchanged (inbox/search.py).
"""

from django.db import migrations

KEY = "((CAST(strftime('%s', {0}.created_at) AS INTEGER) << 31) + {0}.id)"
_TEXT_KINDS = "kind <> 'event'"

SQLITE = [
    "DROP TRIGGER IF EXISTS inbox_message_fts_ai",
    "DROP TRIGGER IF EXISTS inbox_message_fts_ad",
    "DROP TRIGGER IF EXISTS inbox_message_fts_au",
    "DROP TABLE IF EXISTS inbox_message_fts",
    "CREATE VIRTUAL TABLE inbox_message_fts USING fts5(subject, text, content='',"
    " tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO inbox_message_fts(rowid, subject, text) SELECT "
    + KEY.format("m")
    + ", m.subject, m.text FROM inbox_message m WHERE m."
    + _TEXT_KINDS,
    "CREATE TRIGGER inbox_message_fts_ai AFTER INSERT ON inbox_message WHEN new."
    + _TEXT_KINDS
    + " BEGIN INSERT INTO inbox_message_fts(rowid, subject, text) VALUES ("
    + KEY.format("new")
    + ", new.subject, new.text); END",
    "CREATE TRIGGER inbox_message_fts_ad AFTER DELETE ON inbox_message WHEN old."
    + _TEXT_KINDS
    + " BEGIN INSERT INTO inbox_message_fts(inbox_message_fts, rowid, subject, text)"
    " VALUES ('delete', " + KEY.format("old") + ", old.subject, old.text); END",
    "CREATE TRIGGER inbox_message_fts_au AFTER UPDATE OF subject, text, kind, created_at"
    " ON inbox_message BEGIN INSERT INTO inbox_message_fts(inbox_message_fts, rowid, subject,"
    " text) SELECT 'delete', "
    + KEY.format("old")
    + ", old.subject, old.text WHERE old."
    + _TEXT_KINDS
    + "; INSERT INTO inbox_message_fts(rowid, subject, text) SELECT "
    + KEY.format("new")
    + ", new.subject, new.text WHERE new."
    + _TEXT_KINDS
    + "; END",
]


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0013_channel_import_progress"),
    ]

    operations = [migrations.RunPython(_forward, migrations.RunPython.noop)]
