"""Persistence behind a narrow interface: SQLite by default, PostgreSQL for several
instances, chosen by URL (`[store] url`, see docs/deploy.md).

Tables are created by numbered migrations (`MIGRATIONS`), applied once each at
start, under a lock, and recorded in `schema_version`. `Storage` lists every
method the rest of the code may call; `Store` implements it for both databases
through SQLAlchemy Core, and tests/test_store.py holds it to one contract on each.

Everything about a person is keyed by (platform, workspace, user): `forget`
deletes it from every table, `purge` erases drafts older than the retention.

Private by default: the SQLite data folder is 0700, the database and its -wal
and -shm files 0600. Text that cannot be stored (a lone surrogate from a client,
NUL for PostgreSQL) is stored with U+FFFD in its place rather than failing the
write. A conversation carries a version, so that two instances on one database
cannot silently overwrite each other's turn (`ConflictError`).
"""

from bot.store.base import USER_TABLES, ConflictError, Storage, UserKey
from bot.store.database import DATABASE_NAME, Store, open_store, parse_url
from bot.store.files import DB_SUFFIXES, DIR_MODE, FILE_MODE, private_dir
from bot.store.migrations import MIGRATIONS, Migration

__all__ = [
    "DATABASE_NAME",
    "DB_SUFFIXES",
    "DIR_MODE",
    "FILE_MODE",
    "MIGRATIONS",
    "USER_TABLES",
    "ConflictError",
    "Migration",
    "Storage",
    "Store",
    "UserKey",
    "open_store",
    "parse_url",
    "private_dir",
]
