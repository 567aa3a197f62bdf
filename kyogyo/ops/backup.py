"""Backups that can be restored: one file holding the database (SQLite through its online
backup API — never a copy of a live file; PostgreSQL through ``pg_dump``, a consistent
snapshot taken while the app runs), the import files of the data directory, and a manifest
with the row count of every table and a checksum of every part.

A restore first checks the file (manifest, checksums, engine) and refuses a damaged or
foreign one before touching anything. SQLite is restored through the backup API into the
live database; PostgreSQL in ONE transaction (drop the schema, recreate it from the dump),
so a failed restore leaves the database as it was. Afterwards the row counts must equal the
manifest's, and the analytics snapshot — derived data — is rebuilt from the restored rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections

FORMAT = "kyogyo-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_PART = "database.sqlite3"
POSTGRES_PART = "database.pgdump"
FILES_PREFIX = "files/"
BACKED_UP_DIRS = ("imports",)  # under the data directory: uploads, error files, progress journals


class BackupError(RuntimeError):
    pass


@dataclass
class BackupResult:
    path: Path
    engine: str
    tables: int
    rows: int
    files: int
    bytes: int


@dataclass
class RestoreResult:
    engine: str
    tables: int
    rows: int
    files: int
    mismatches: list[str] = field(default_factory=list)


# --- what is in the database ------------------------------------------------------------------


def table_counts() -> dict[str, int]:
    """Rows per table of every installed model (and Django's own tables), by table name."""
    tables = sorted(
        {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
        & set(connection.introspection.table_names())
    )
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data_files() -> list[tuple[Path, str]]:
    root = Path(settings.DATA_DIR)
    found = []
    for name in BACKED_UP_DIRS:
        base = root / name
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                found.append((path, path.relative_to(root).as_posix()))
    return found


# --- PostgreSQL connection arguments ------------------------------------------------------------


def _pg_env_and_args() -> tuple[dict[str, str], list[str]]:
    params = connection.settings_dict
    env = dict(os.environ)
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = str(params["PASSWORD"])
    args = []
    if params.get("HOST"):
        args += ["--host", str(params["HOST"])]
    if params.get("PORT"):
        args += ["--port", str(params["PORT"])]
    if params.get("USER"):
        args += ["--username", str(params["USER"])]
    return env, args


def _run(command: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(command, env=env, capture_output=True, **kwargs)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools are needed)") from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.decode(errors='replace').strip()[:2000]}")
    return done


# --- backup ------------------------------------------------------------------------------------


def _dump_sqlite(target: Path) -> None:
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        connection.connection.backup(destination)  # online: a consistent copy while others write
    finally:
        destination.close()


def _dump_postgres(target: Path) -> None:
    env, args = _pg_env_and_args()
    name = str(connection.settings_dict["NAME"])
    _run(
        ["pg_dump", *args, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", name], env
    )


def default_backup_path(now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.UTC)
    return Path(settings.DATA_DIR) / "backups" / f"kyogyo-{now:%Y%m%d-%H%M%S}.tar"


def backup(target: Path | None = None) -> BackupResult:
    target = target or default_backup_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    engine = _engine()
    counts = table_counts()
    with tempfile.TemporaryDirectory(prefix="kyogyo-backup-") as scratch:
        part_name = SQLITE_PART if engine == "sqlite" else POSTGRES_PART
        part = Path(scratch) / part_name
        (_dump_sqlite if engine == "sqlite" else _dump_postgres)(part)
        files = _data_files()
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "engine": engine,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "kyogyo_time_zone": settings.TIME_ZONE,
            "tables": counts,
            "parts": {part_name: _sha256(part)},
            "files": {name: _sha256(path) for path, name in files},
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            archive.add(part, arcname=part_name)
            for path, name in files:
                archive.add(path, arcname=FILES_PREFIX + name)
        os.replace(partial, target)  # a backup file is complete or absent
    return BackupResult(
        path=target,
        engine=engine,
        tables=len(counts),
        rows=sum(counts.values()),
        files=len(files),
        bytes=target.stat().st_size,
    )


# --- restore -----------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        with tarfile.open(source, "r") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{source} is not a Kyogyo backup ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is not a Kyogyo backup")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(
            f"{source} has backup format {manifest.get('version')}; this Kyogyo reads {FORMAT_VERSION}"
        )
    return manifest


def _unpack_checked(source: Path, manifest: dict[str, Any], into: Path) -> None:
    expected = {**manifest["parts"], **{FILES_PREFIX + k: v for k, v in manifest["files"].items()}}
    with tarfile.open(source, "r") as archive:
        names = {m.name for m in archive.getmembers() if m.isfile()} - {MANIFEST}
        if names != set(expected):
            raise BackupError(f"{source} is incomplete or has unexpected members")
        archive.extractall(into, filter="data")  # the data filter refuses absolute paths and links
    for name, digest in expected.items():
        if _sha256(into / name) != digest:
            raise BackupError(f"{source} is damaged: {name} does not match its checksum")


def _restore_sqlite(part: Path) -> None:
    connection.ensure_connection()
    source = sqlite3.connect(part)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def _restore_postgres(part: Path) -> None:
    """Drop and recreate the schema and load the dump in one transaction: all or nothing."""
    env, args = _pg_env_and_args()
    name = str(connection.settings_dict["NAME"])
    script = _run(["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(part)], env).stdout
    connections.close_all()  # our own sessions would hold locks the DROP waits for
    prologue = b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
    _run(
        [
            "psql",
            *args,
            "--quiet",
            "--no-psqlrc",
            "--single-transaction",
            "-v",
            "ON_ERROR_STOP=1",
            "--dbname",
            name,
        ],
        env,
        input=prologue + script,
    )


def _restore_files(unpacked: Path) -> int:
    root = Path(settings.DATA_DIR)
    for name in BACKED_UP_DIRS:
        shutil.rmtree(root / name, ignore_errors=True)
    restored = 0
    files_dir = unpacked / FILES_PREFIX
    if files_dir.is_dir():
        for path in files_dir.rglob("*"):
            if path.is_file():
                target = root / path.relative_to(files_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                restored += 1
    return restored


def restore(source: Path, *, rebuild_snapshot: bool = True) -> RestoreResult:
    manifest = read_manifest(source)
    engine = _engine()
    if manifest["engine"] != engine:
        raise BackupError(
            f"{source} holds a {manifest['engine']} database; the configured database is {engine}"
        )
    with tempfile.TemporaryDirectory(prefix="kyogyo-restore-") as scratch:
        unpacked = Path(scratch)
        _unpack_checked(source, manifest, unpacked)
        if engine == "sqlite":
            _restore_sqlite(unpacked / SQLITE_PART)
        else:
            _restore_postgres(unpacked / POSTGRES_PART)
        files = _restore_files(unpacked)
    counts = table_counts()
    expected: dict[str, int] = manifest["tables"]
    mismatches = [
        f"{table}: {counts.get(table)} rows, the backup had {rows}"
        for table, rows in sorted(expected.items())
        if counts.get(table) != rows
    ]
    if rebuild_snapshot and not mismatches:
        from kyogyo.analytics.snapshot import rebuild

        rebuild(reason="restored from a backup")
    return RestoreResult(
        engine=engine, tables=len(expected), rows=sum(expected.values()), files=files, mismatches=mismatches
    )
