"""`registry` — the command line for the Registry server.

Exit codes: 0 success, 1 the server (or the network, or a file) refused, 2 bad usage, 130 interrupted.
Errors are printed to stderr as `error: <detail>`; progress bars go to stderr too, results to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from itertools import islice

from . import __version__
from .client import Client
from .config import DEFAULT_BASE_URL, ENV_BASE_URL, normalize_base_url, read_config, write_config
from .errors import RegistryError
from .paths import SourcePath, parse_browse_path
from .resources import Collection, Registry, Version

# -- output helpers -------------------------------------------------------------------------------------------


def _human_size(size) -> str:
    if size is None:
        return ""
    size = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _short_time(value) -> str:
    return str(value or "")[:19].replace("T", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence], out) -> int:
    rows = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    print(line, file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
    return len(rows)


def _print_json(data, out) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str), file=out)


def _registry_rows(items: Iterable[Registry]):
    headers = ("REGISTRY", "VISIBILITY", "TYPES", "ROLE", "UPDATED")
    rows = (
        (
            r.path,
            r.visibility,
            "all" if r.allow_all_types else ",".join(r.artifact_types or []),
            r.role,
            _short_time(r.updated_at),
        )
        for r in items
    )
    return headers, rows


def _collection_rows(items: Iterable[Collection]):
    headers = ("COLLECTION", "TYPE", "TAGS", "UPDATED")
    return headers, ((c.path, c.type, ",".join(c.tags or []), _short_time(c.updated_at)) for c in items)


def _version_rows(items: Iterable[Version]):
    headers = ("VERSION", "ALIASES", "TAGS", "SIZE", "SOURCE", "CREATED")
    rows = (
        (
            v.path,
            ",".join(v.aliases or []),
            ",".join(v.tags or []),
            _human_size(v.size),
            v.source_path if v.source_path != v.path else "",
            _short_time(v.created_at),
        )
        for v in items
    )
    return headers, rows


def _limited(items, limit):
    return islice(items, limit) if limit else items


def _emit(args, items, rows_for, out) -> None:
    items = _limited(items, args.limit)
    if args.json:
        _print_json([item.to_dict() for item in items], out)
        return
    headers, rows = rows_for(items)
    if not _table(headers, rows, out):
        print("(nothing found)", file=sys.stderr)


def _parse_json_arg(parser: argparse.ArgumentParser, name: str, value: str | None):
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        parser.error(f"{name} is not valid JSON: {exc}")


# -- commands -----------------------------------------------------------------------------------------------


def _client(args) -> Client:
    return Client(base_url=args.base_url, api_key=args.api_key, progress=False if args.no_progress else None)


def cmd_login(args, parser, out) -> int:
    saved = read_config()
    base_url = args.base_url or os.environ.get(ENV_BASE_URL) or saved.get("base_url")
    if not base_url:
        if sys.stdin.isatty():
            base_url = input(f"Registry URL [{DEFAULT_BASE_URL}]: ").strip() or DEFAULT_BASE_URL
        else:
            base_url = DEFAULT_BASE_URL
    base_url = normalize_base_url(base_url)
    key = args.key or args.api_key or getpass.getpass(f"API key for {base_url} (input hidden): ").strip()
    if not key:
        parser.error("an API key is required")
    with Client(base_url=base_url, api_key=key, progress=False) as client:
        viewer = client.viewer()
    path = write_config(base_url, key)
    if args.json:
        _print_json({"base_url": base_url, "config": str(path), **viewer}, out)
    else:
        orgs = ", ".join(o.get("slug", "") for o in viewer.get("orgs", [])) or "none"
        print(f"Logged in to {base_url} as {viewer.get('username')} (organizations: {orgs}).", file=out)
        print(f"Saved to {path}.", file=sys.stderr)
    return 0


def cmd_whoami(args, parser, out) -> int:
    with _client(args) as client:
        viewer = client.viewer()
    if args.json:
        _print_json({"base_url": client.base_url, **viewer}, out)
    else:
        print(f"{viewer.get('username')} on {client.base_url}", file=out)
        _table(("ORG", "NAME", "ROLE"), [(o.get("slug"), o.get("name"), o.get("role")) for o in viewer["orgs"]], out)
    return 0


def cmd_upload(args, parser, out) -> int:
    metadata = _parse_json_arg(parser, "--metadata", args.metadata)
    if metadata is not None and not isinstance(metadata, dict):
        parser.error("--metadata must be a JSON object")
    if args.alias and not args.link:
        parser.error("--alias needs --link TARGET: aliases belong to a registry link")
    with _client(args) as client:
        version = client.log_artifact(
            args.path,
            name=args.name,
            type=args.type,
            project=args.project,
            metadata=metadata,
            description=args.description or "",
            run=args.run,
            target_path=args.link,
            aliases=args.alias,
        )
    if args.json:
        data = {**version.to_dict(), "uploaded": [u.get("path") for u in version.uploads]}
        if version.linked is not None:
            data["linked"] = version.linked.to_dict()
        _print_json(data, out)
    else:
        print(version.path, file=out)
        if version.linked is not None:
            print(version.linked.path, file=out)
        print(f"{len(version.uploads)} file(s) uploaded, the rest already stored.", file=sys.stderr)
    return 0


def cmd_link(args, parser, out) -> int:
    with _client(args) as client:
        linked = client.link_artifact(args.source, args.target, aliases=args.alias)
    if args.json:
        _print_json(linked.to_dict(), out)
    else:
        print(linked.path, file=out)
    return 0


def cmd_get(args, parser, out) -> int:
    with _client(args) as client:
        artifact = client.artifact(args.path)
        root = artifact.download(args.root)
    if args.json:
        _print_json({**artifact.to_dict(), "root": str(root), "files": [f.path for f in artifact.files()]}, out)
    else:
        print(root, file=out)
    return 0


def cmd_ls(args, parser, out) -> int:
    with _client(args) as client:
        if args.path is None:
            _emit(args, client.registries(), _registry_rows, out)
            return 0
        kind, target = parse_browse_path(args.path)
        if kind == "org":
            _emit(args, client.registries(org=target), _registry_rows, out)
        elif kind == "registry":
            registry = client.registry(target.registry_path)
            _emit(args, registry.collections(), _collection_rows, out)
        elif kind == "project":
            team, project, name = target
            _emit(args, client.project(f"{team}/{project}").versions(name=name), _version_rows, out)
        elif kind == "collection":
            org = target.org or client._default_org()
            registry = client.registry(f"{org}/{target.registry}")
            collection = registry.collections(filter={"name": target.collection}).first()
            if collection is None:
                raise RegistryError(f"No collection {target.collection!r} in {registry.path}.", status_code=404)
            _emit(args, collection.versions(), _version_rows, out)
        else:
            artifact = client.artifact(str(target))
            if args.json:
                _print_json({**artifact.to_dict(), "files": [asdict(f) for f in artifact.files()]}, out)
                return 0
            label = "source" if isinstance(target, SourcePath) else "registry"
            print(f"{artifact.path} ({label} version, {artifact.type}, {_human_size(artifact.size)})", file=out)
            files = _limited(artifact.files(), args.limit)
            _table(("FILE", "SIZE", "SHA256"), ((f.path, _human_size(f.size), f.sha256) for f in files), out)
    return 0


def cmd_search(args, parser, out) -> int:
    registries = _parse_json_arg(parser, "--registries", args.registries)
    collections = _parse_json_arg(parser, "--collections", args.collections)
    versions = _parse_json_arg(parser, "--versions", args.versions)
    with _client(args) as client:
        chain = client.registries(filter=registries, org=args.org)
        if versions is not None:
            _emit(args, chain.collections(filter=collections).versions(filter=versions), _version_rows, out)
        elif collections is not None:
            _emit(args, chain.collections(filter=collections), _collection_rows, out)
        else:
            _emit(args, chain, _registry_rows, out)
    return 0


# -- parser -------------------------------------------------------------------------------------------------


def cmd_service_accounts(args, parser, out) -> int:
    """`registry service-accounts [list|create|keys|create-key|revoke-key|deactivate]` (org admins)."""
    org = args.org
    with _client(args) as client:
        if args.action == "list":
            accounts = client.service_accounts(org)
            if args.json:
                _print_json(accounts, out)
            else:
                rows = [
                    (a["name"], a["team"] or "(organization)", "active" if a["active"] else "deactivated",
                     _short_time(a["created_at"]), a["description"])
                    for a in accounts
                ]  # fmt: skip
                _table(("NAME", "TEAM", "STATUS", "CREATED", "DESCRIPTION"), rows, out)
            return 0
        if not args.name:
            parser.error(f"service-accounts {args.action} needs NAME")
        if args.action == "create":
            account = client.create_service_account(args.name, org=org, team=args.team, description=args.description)
            _print_json(account, out) if args.json else print(f"Created service account {account['name']}.", file=out)
        elif args.action == "keys":
            keys = client.service_account_keys(args.name, org=org)
            if args.json:
                _print_json(keys, out)
            else:
                rows = [(k["id"], k["name"], k["prefix"] + "…", _short_time(k["created_at"]),
                         _short_time(k["last_used_at"]) or "never", _short_time(k["revoked_at"])) for k in keys]  # fmt: skip
                _table(("ID", "NAME", "KEY", "CREATED", "LAST USED", "REVOKED"), rows, out)
        elif args.action == "create-key":
            key = client.create_service_account_key(args.name, args.key_name or "default", org=org)
            if args.json:
                _print_json(key, out)
            else:
                print(key["secret"], file=out)  # alone on stdout, for `KEY=$(registry service-accounts create-key …)`
                print(f"Key {key['name']} (id {key['id']}) created; it is shown only once.", file=sys.stderr)
        elif args.action == "revoke-key":
            if args.key_id is None:
                parser.error("revoke-key needs --key-id")
            client.revoke_service_account_key(args.name, args.key_id, org=org)
            print(f"Key {args.key_id} revoked.", file=out)
        elif args.action == "deactivate":
            client.deactivate_service_account(args.name, org=org)
            print(f"Service account {args.name} deactivated; its keys are revoked.", file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    parser = argparse.ArgumentParser(
        prog="registry", description="Log, link, find and download artifact versions in a Registry server."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--base-url", help="server URL (default: $REGISTRY_BASE_URL, then `registry login`)")
    parser.add_argument("--api-key", help="API key (default: $REGISTRY_API_KEY, then `registry login`)")
    parser.add_argument("--json", action="store_true", default=False, help="print JSON instead of tables")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("login", parents=[common], help="save the server URL and an API key, after checking them")
    p.add_argument("--base-url", default=argparse.SUPPRESS, help="server URL, e.g. https://registry.example.com")
    p.add_argument("--key", help="API key (prompted for, hidden, when missing)")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("whoami", parents=[common], help="show the user and organizations of the key in use")
    p.set_defaults(func=cmd_whoami)

    p = sub.add_parser("upload", parents=[common], help="log a file or folder as a new artifact version")
    p.add_argument("path", metavar="PATH", help="a file or a folder")
    p.add_argument("--project", required=True, help="<team>/<project>")
    p.add_argument("--name", required=True, help="artifact name")
    p.add_argument("--type", required=True, help="artifact type, e.g. model or dataset")
    p.add_argument("--metadata", help="a JSON object")
    p.add_argument("--description", help="Markdown description")
    p.add_argument("--run", help="id of the run that produced it")
    p.add_argument("--link", metavar="TARGET", help="also link into [<org>/]wandb-registry-<registry>/<collection>")
    p.add_argument("--alias", action="append", default=[], help="alias for the link (repeatable; needs --link)")
    p.set_defaults(func=cmd_upload)

    p = sub.add_parser("link", parents=[common], help="link a version into a registry collection")
    p.add_argument("source", metavar="SOURCE", help="<team>/<project>/<name>:<version> or a registry version path")
    p.add_argument("target", metavar="TARGET", help="[<org>/]wandb-registry-<registry>/<collection>")
    p.add_argument("--alias", action="append", default=[], help="alias to set on the link (repeatable)")
    p.set_defaults(func=cmd_link)

    p = sub.add_parser("get", parents=[common], help="download a version's files")
    p.add_argument("path", metavar="PATH", help="a source or registry version path (default version: latest)")
    p.add_argument("--root", help="destination folder (default ./artifacts/<name>-<version>)")
    p.set_defaults(func=cmd_get)

    p = sub.add_parser(
        "ls",
        parents=[common],
        help="list registries (of an org), collections (of a registry), versions (of a collection or of a source "
        "project or artifact), files (of a version)",
    )
    p.add_argument(
        "path",
        metavar="PATH_OR_ORG",
        nargs="?",
        help="org, registry, collection, <team>/<project>[/<artifact>] or version path",
    )
    p.add_argument("--limit", type=int, default=0, help="show at most this many rows")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("search", parents=[common], help="filter registries, collections or versions (spec §8)")
    p.add_argument("--org", help="only registries of this organization")
    p.add_argument("--registries", metavar="JSON", help='registry filter, e.g. \'{"name": {"$regex": "model"}}\'')
    p.add_argument("--collections", metavar="JSON", help="collection filter (lists collections)")
    p.add_argument("--versions", metavar="JSON", help="version filter (lists versions)")
    p.add_argument("--limit", type=int, default=0, help="show at most this many rows")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "service-accounts",
        parents=[common],
        help="manage an organization's service accounts and their keys (org admins)",
    )
    p.add_argument(
        "action",
        choices=["list", "create", "keys", "create-key", "revoke-key", "deactivate"],
        nargs="?",
        default="list",
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="the service account")
    p.add_argument("--org", help="organization (default: your only one)")
    p.add_argument("--team", help="create: the team it belongs to (default: the whole organization)")
    p.add_argument("--description", default="", help="create: what it is for")
    p.add_argument("--key-name", help="create-key: the key's name, e.g. github-actions")
    p.add_argument("--key-id", type=int, help="revoke-key: the key's id (see `keys`)")
    p.set_defaults(func=cmd_service_accounts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the `registry` console script exits with it)."""
    parser = build_parser()
    out = sys.stdout
    try:
        args = parser.parse_args(argv)
        if getattr(args, "limit", 0) and args.limit < 0:
            parser.error("--limit must not be negative")
        return args.func(args, parser, out)
    except SystemExit as exc:  # argparse: --help/--version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except RegistryError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `registry ls … | head`: the reader left; that is not an error
        with contextlib.suppress(OSError, ValueError):  # as the Python docs advise: no error at the final flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
