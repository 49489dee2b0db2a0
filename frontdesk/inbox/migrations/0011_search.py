# ruff: noqa: S608  (constant DDL, no input)
"""Full-text search: the database keeps the index in step with every write.

SQLite: FTS5 tables (``inbox_message_fts`` over messages and notes, external content;
``inbox_contact_fts``: a contact's name, company and handles) kept by triggers.
PostgreSQL: a generated ``search_vector`` on messages and a trigger-kept one on contacts,
each with a GIN index. Both split text on anything that is not a letter or a digit, so
``priya@acme.com`` is found by ``acme`` on either database (frontdesk/inbox/search.py).
"""

from django.db import migrations, models

SQLITE = [
    # Messages and notes (event lines are not searched), external content: no copy.
    "CREATE VIRTUAL TABLE inbox_message_fts USING fts5(subject, text, content='inbox_message',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO inbox_message_fts(rowid, subject, text)"
    " SELECT id, subject, text FROM inbox_message WHERE kind <> 'event'",
    "CREATE TRIGGER inbox_message_fts_ai AFTER INSERT ON inbox_message WHEN new.kind <> 'event'"
    " BEGIN INSERT INTO inbox_message_fts(rowid, subject, text)"
    " VALUES (new.id, new.subject, new.text); END",
    "CREATE TRIGGER inbox_message_fts_ad AFTER DELETE ON inbox_message WHEN old.kind <> 'event'"
    " BEGIN INSERT INTO inbox_message_fts(inbox_message_fts, rowid, subject, text)"
    " VALUES ('delete', old.id, old.subject, old.text); END",
    "CREATE TRIGGER inbox_message_fts_au AFTER UPDATE OF subject, text, kind ON inbox_message"
    " BEGIN INSERT INTO inbox_message_fts(inbox_message_fts, rowid, subject, text)"
    " SELECT 'delete', old.id, old.subject, old.text WHERE old.kind <> 'event';"
    " INSERT INTO inbox_message_fts(rowid, subject, text)"
    " SELECT new.id, new.subject, new.text WHERE new.kind <> 'event'; END",
    # Contacts: one row per contact (rowid = contact id), its own small copy of the text.
    "CREATE VIRTUAL TABLE inbox_contact_fts USING fts5(body,"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER inbox_contact_fts_ai AFTER INSERT ON inbox_contact BEGIN"
    " INSERT INTO inbox_contact_fts(rowid, body) VALUES (new.id, new.name || ' ' || new.company);"
    " END",
    "CREATE TRIGGER inbox_contact_fts_au AFTER UPDATE OF name, company ON inbox_contact BEGIN"
    " DELETE FROM inbox_contact_fts WHERE rowid = old.id;"
    " INSERT INTO inbox_contact_fts(rowid, body) SELECT c.id, c.name || ' ' || c.company || ' '"
    " || coalesce((SELECT group_concat(h.value, ' ') FROM inbox_contacthandle h"
    " WHERE h.contact_id = c.id), '') FROM inbox_contact c WHERE c.id = new.id; END",
    "CREATE TRIGGER inbox_contact_fts_ad AFTER DELETE ON inbox_contact BEGIN"
    " DELETE FROM inbox_contact_fts WHERE rowid = old.id; END",
    *(
        f"CREATE TRIGGER inbox_contacthandle_fts_{name} AFTER {event} ON inbox_contacthandle BEGIN"
        f" DELETE FROM inbox_contact_fts WHERE rowid IN ({ids});"
        " INSERT INTO inbox_contact_fts(rowid, body) SELECT c.id, c.name || ' ' || c.company"
        " || ' ' || coalesce((SELECT group_concat(h.value, ' ') FROM inbox_contacthandle h"
        f" WHERE h.contact_id = c.id), '') FROM inbox_contact c WHERE c.id IN ({ids}); END"
        for name, event, ids in (
            ("ai", "INSERT", "new.contact_id"),
            ("au", "UPDATE", "old.contact_id, new.contact_id"),
            ("ad", "DELETE", "old.contact_id"),
        )
    ),
    "INSERT INTO inbox_contact_fts(rowid, body) SELECT c.id, c.name || ' ' || c.company || ' '"
    " || coalesce((SELECT group_concat(h.value, ' ') FROM inbox_contacthandle h"
    " WHERE h.contact_id = c.id), '') FROM inbox_contact c",
]
SQLITE_REVERSE = [
    *(
        f"DROP TRIGGER IF EXISTS {t}"
        for t in (
            "inbox_message_fts_ai",
            "inbox_message_fts_ad",
            "inbox_message_fts_au",
            "inbox_contact_fts_ai",
            "inbox_contact_fts_au",
            "inbox_contact_fts_ad",
            "inbox_contacthandle_fts_ai",
            "inbox_contacthandle_fts_au",
            "inbox_contacthandle_fts_ad",
        )
    ),
    "DROP TABLE IF EXISTS inbox_message_fts",
    "DROP TABLE IF EXISTS inbox_contact_fts",
]

# Anything that is not a letter or digit splits words (as SQLite's unicode61 does), so
# e-mail addresses, links and hyphenated words are found by their parts.
_WORDS = "regexp_replace({}, '[^[:alnum:]]+', ' ', 'g')"
POSTGRES = [
    "ALTER TABLE inbox_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
    " (CASE WHEN kind <> 'event' THEN to_tsvector('simple'::regconfig, "
    + _WORDS.format("subject || ' ' || text")
    + ") END) STORED",
    "CREATE INDEX inbox_message_search ON inbox_message USING gin (search_vector)",
    "ALTER TABLE inbox_contact ADD COLUMN search_vector tsvector",
    "CREATE FUNCTION inbox_contact_document(contact_id bigint, name text, company text)"
    " RETURNS tsvector LANGUAGE sql STABLE AS $$ SELECT to_tsvector('simple'::regconfig, "
    + _WORDS.format(
        "name || ' ' || company || ' ' || coalesce((SELECT string_agg(h.value, ' ')"
        " FROM inbox_contacthandle h WHERE h.contact_id = $1), '')"
    )
    + ") $$",
    "CREATE FUNCTION inbox_contact_search_own() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " NEW.search_vector := inbox_contact_document(NEW.id, NEW.name, NEW.company);"
    " RETURN NEW; END $$",
    "CREATE TRIGGER inbox_contact_search BEFORE INSERT OR UPDATE OF name, company"
    " ON inbox_contact FOR EACH ROW EXECUTE FUNCTION inbox_contact_search_own()",
    "CREATE FUNCTION inbox_contact_search_handles() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP <> 'INSERT' THEN UPDATE inbox_contact SET search_vector ="
    " inbox_contact_document(id, name, company) WHERE id = OLD.contact_id; END IF;"
    " IF TG_OP <> 'DELETE' THEN UPDATE inbox_contact SET search_vector ="
    " inbox_contact_document(id, name, company) WHERE id = NEW.contact_id; END IF;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER inbox_contacthandle_search AFTER INSERT OR UPDATE OR DELETE"
    " ON inbox_contacthandle FOR EACH ROW EXECUTE FUNCTION inbox_contact_search_handles()",
    "UPDATE inbox_contact SET search_vector = inbox_contact_document(id, name, company)",
    "CREATE INDEX inbox_contact_search ON inbox_contact USING gin (search_vector)",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS inbox_contacthandle_search ON inbox_contacthandle",
    "DROP TRIGGER IF EXISTS inbox_contact_search ON inbox_contact",
    "DROP FUNCTION IF EXISTS inbox_contact_search_handles()",
    "DROP FUNCTION IF EXISTS inbox_contact_search_own()",
    "DROP FUNCTION IF EXISTS inbox_contact_document(bigint, text, text)",
    "ALTER TABLE inbox_contact DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE inbox_message DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0010_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["workspace", "-created_at", "-id"], name="msg_ws_recent"),
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        ),
    ]
