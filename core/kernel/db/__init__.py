"""The database: engine and transactions, exact column types, dialect-aware inserts, the
kernel's own tables, migrations."""
