#!/usr/bin/env bash
# Back up and restore a Registry instance: the database and the blob store, together.
#
#   scripts/backup_restore.sh backup  DIR   # write DIR/database.* and DIR/blobs/ (DIR must not exist)
#   scripts/backup_restore.sh restore DIR   # put them back into an EMPTY database and blob store
#   scripts/backup_restore.sh demo          # seed a demo instance, back it up, wipe it, restore it, verify it
#
# The instance is the one the usual settings name: DATABASE_URL (PostgreSQL or SQLite) and ARTIFACT_STORAGE_URL
# (a folder, or s3://bucket/prefix?endpoint=… with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY). docs/deploy.md says
# when to run it: take the database dump first, then the blobs (blobs are never changed, only added and deleted by
# the cleanup, so a blob copy taken after the dump holds every blob the dump names).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MANAGE="$PY manage.py"

database_url() { "$PY" -c 'import django, os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings"); django.setup(); from django.conf import settings; print(settings.DATABASE_URL)'; }
storage_url() { "$PY" -c 'import django, os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings"); django.setup(); from django.conf import settings; print(settings.ARTIFACT_STORAGE_URL)'; }

# The blob store as a folder of files named by SHA-256, whatever the store: one copy loop for both kinds.
blobs() {  # blobs export DIR | blobs import DIR | blobs wipe
    "$PY" - "$@" <<'PYTHON'
import hashlib, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
django.setup()
from apps.artifacts.models import Blob
from apps.artifacts.storage import get_store

store, action = get_store(), sys.argv[1]
if action == "export":
    folder = sys.argv[2]
    os.makedirs(folder)
    count = 0
    for sha in Blob.objects.values_list("sha256", flat=True).iterator():
        with store.open(sha) as source, open(os.path.join(folder, sha), "wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
        count += 1
    print(f"blobs: exported {count}")
elif action == "import":
    folder, count = sys.argv[2], 0
    for sha in sorted(os.listdir(folder)):
        with open(os.path.join(folder, sha), "rb") as source:
            stored, _, _ = store.put(source, expected_sha256=sha)  # verifies the bytes on the way in
        count += 1
    print(f"blobs: imported {count}, each checked against its SHA-256")
elif action == "wipe":
    count = 0
    for sha in list(Blob.objects.values_list("sha256", flat=True)):
        store.delete(sha)
        count += 1
    print(f"blobs: deleted {count}")
elif action == "verify":
    count = 0
    for sha in Blob.objects.values_list("sha256", flat=True).iterator():
        digest = hashlib.sha256()
        with store.open(sha) as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == sha, f"blob {sha} reads back as {digest.hexdigest()}"
        count += 1
    print(f"blobs: all {count} read back with their SHA-256")
PYTHON
}

backup() {
    local dir=$1 url
    [ ! -e "$dir" ] || { echo "backup: $dir exists; give a new folder" >&2; exit 2; }
    mkdir -p "$dir"
    url=$(database_url)
    case "$url" in
        postgres*) pg_dump --format=custom --no-owner --file="$dir/database.pgdump" "$url" ;;
        sqlite*) sqlite3 "${url#sqlite://}" ".backup '$dir/database.sqlite3'" ;;  # consistent while in use (WAL)
        *) echo "backup: unknown DATABASE_URL $url" >&2; exit 2 ;;
    esac
    echo "database: dumped to $dir"
    blobs export "$dir/blobs"
}

restore() {
    local dir=$1 url
    url=$(database_url)
    case "$url" in
        postgres*) pg_restore --no-owner --exit-on-error --dbname="$url" "$dir/database.pgdump" ;;
        sqlite*) cp "$dir/database.sqlite3" "${url#sqlite://}" ;;
    esac
    echo "database: restored from $dir"
    $MANAGE migrate --noinput -v 0  # a backup from an older release gets this release's migrations
    blobs import "$dir/blobs"
}

fingerprint() {  # what must survive: rows that matter, counted, and every link with its aliases
    $MANAGE shell -v 0 -c '
from apps.audit.models import AuditEvent
from apps.collections.models import Link, LinkAlias
from apps.artifacts.models import ArtifactVersion, Blob
from apps.registries.models import Registry
from django.contrib.auth import get_user_model
print("users", get_user_model().objects.count(), "registries", Registry.objects.count(),
      "versions", ArtifactVersion.objects.count(), "links", Link.objects.count(),
      "aliases", LinkAlias.objects.count(), "blobs", Blob.objects.count(), "audit events", AuditEvent.objects.count())
print(sorted(LinkAlias.objects.values_list("collection__name", "alias", "link__index")))'
}

demo() {
    local work
    work=$(mktemp -d)
    export DEBUG=true REGISTRY_ENV_FILE=/nonexistent REGISTRY_VAR_DIR="$work/var"
    export DATABASE_URL=${DATABASE_URL:-sqlite:///$work/demo.sqlite3}
    export ARTIFACT_STORAGE_URL=${ARTIFACT_STORAGE_URL:-file://$work/var/blobs}
    if [[ $DATABASE_URL == postgres* ]]; then
        echo "demo: PostgreSQL database ${DATABASE_URL##*/} (must be empty)"
    fi
    $MANAGE migrate --noinput -v 0
    $MANAGE seed_demo > /dev/null
    fingerprint > "$work/before.txt"
    echo "demo instance: $(head -1 "$work/before.txt")"
    backup "$work/backup"
    echo "wipe: the database and the blobs"
    blobs wipe
    case "$DATABASE_URL" in
        postgres*) psql -q "$DATABASE_URL" -c 'SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public;' ;;
        sqlite*) rm -f "${DATABASE_URL#sqlite://}"* ;;
    esac
    restore "$work/backup"
    blobs verify
    fingerprint > "$work/after.txt"
    if cmp -s "$work/before.txt" "$work/after.txt"; then
        echo "restored instance: $(head -1 "$work/after.txt") — identical to the backup"
    else
        diff "$work/before.txt" "$work/after.txt" >&2
        echo "restore differs from the backup" >&2
        exit 1
    fi
    rm -rf "$work"
}

case "${1:-}" in
    backup) backup "${2:?backup DIR}" ;;
    restore) restore "${2:?restore DIR}" ;;
    demo) demo ;;
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
