from django.db import migrations

# PostgreSQL only: a trigger keeps each row's search vector up to date (on
# insert, and on any update that writes the searched text), and a GIN index
# makes the @@ match fast. Headline text weighs most (A), then the dek (B),
# then the body (C). SQLite has no tsvector; search falls back to LIKE there.
SEARCHED = {
    "articles_article": [("headline", "A"), ("dek", "B"), ("body", "C")],
    "articles_headline": [("text", "A")],
}


def _vector(columns):
    return " || ".join(
        f"setweight(to_tsvector('english', coalesce(NEW.{column}, '')), '{weight}')"
        for column, weight in columns
    )


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in SEARCHED.items():
        watched = ", ".join([column for column, _ in columns] + ["search_vector"])
        schema_editor.execute(
            f"""
            CREATE FUNCTION {table}_search_update() RETURNS trigger AS $$
            BEGIN
                NEW.search_vector := {_vector(columns)};
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER {table}_search BEFORE INSERT OR UPDATE OF {watched}
                ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_search_update();
            UPDATE {table} SET search_vector = NULL;
            CREATE INDEX {table}_search_idx ON {table} USING gin (search_vector);
            """
        )


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in SEARCHED:
        schema_editor.execute(
            f"""
            DROP INDEX IF EXISTS {table}_search_idx;
            DROP TRIGGER IF EXISTS {table}_search ON {table};
            DROP FUNCTION IF EXISTS {table}_search_update();
            """
        )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_search, drop_search),
    ]
