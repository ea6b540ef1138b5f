"""MLflow's model-registry REST API, one URI prefix per registry (MLFLOW_REGISTRY_URI).

`/orgs/<org>/registry/<registry>/mlflow` + `/api/2.0/mlflow/...`: a registered model is a collection,
a model version a link (MLflow version N is our vN-1: both count up from the first and never reuse
a number), aliases are aliases, tags key/value tags, descriptions descriptions. Every handler reads
through the collections querysets and writes through the collections services, so permissions,
protected aliases, the audit log (marked `mlflow:api-key:<name>`) and automations behave as in the
UI. Answers are MLflow's proto-JSON; errors are `{"error_code", "message"}` with MLflow's codes,
always 4xx for bad input (the client retries 5xx for minutes).
"""

import base64
import binascii
import functools
import json
import posixpath
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from apps.artifacts.models import ManifestEntry, VersionTag
from apps.artifacts.views import file_response
from apps.audit.services import AuditContext, reset_context, set_context
from apps.collections import services
from apps.collections.models import Collection, CollectionTag, Link, LinkAlias, aliases_by_link
from apps.mlflow_api import search
from apps.orgs.models import ApiKey
from apps.orgs.permissions import require
from apps.registries.models import Registry
from lib.filters import apply_filter
from lib.pagination import MAX_PER_PAGE, cursor_page

STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
PAGE_MAX = MAX_PER_PAGE  # the shared pager's largest page; MLflow clients follow next_page_token
ARTIFACTS_ROOT = "versions"  # mlflow-artifacts paths: versions/<link id>/<file path>

STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
}


class MlflowError(Exception):
    """An answer in MLflow's error shape."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _error(code: str, message: str) -> JsonResponse:
    return JsonResponse({"error_code": code, "message": message}, status=STATUS[code])


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


# --- Requests: auth, the registry, arguments ---


def _authenticate(request: HttpRequest) -> ApiKey:
    """The API key in `Authorization`: Bearer (MLFLOW_TRACKING_TOKEN) or Basic user + key."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    raw = None
    if scheme.lower() == "bearer":
        raw = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            username, _, raw = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            username = raw = None
    key = ApiKey.objects.authenticate(raw) if raw else None
    if key is not None and scheme.lower() == "basic" and username.lower() not in ("api", key.user.username.lower()):
        key = None
    if key is None:
        raise MlflowError(
            "UNAUTHENTICATED",
            "A Registry API key is required: set MLFLOW_TRACKING_TOKEN to it, or MLFLOW_TRACKING_USERNAME "
            "and MLFLOW_TRACKING_PASSWORD to your username and the key.",
        )
    key.touch()
    return key


def _registry(request: HttpRequest, org_slug: str, reg_slug: str) -> Registry:
    registry = Registry.objects.select_related("org").filter(org__slug=org_slug, slug=reg_slug).first()
    if registry is None or not registry.is_visible_to(request.user):
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No registry “{org_slug}/{reg_slug}” that you can see.")
    return registry


class Args:
    """A request's arguments: the query string for GET, the JSON body otherwise (DELETE and PATCH too)."""

    def __init__(self, request: HttpRequest):
        self.query = request.GET if request.method == "GET" else None
        self.body = {}
        if self.query is None and request.body:
            try:
                self.body = json.loads(request.body)
            except (ValueError, UnicodeDecodeError):
                raise MlflowError("MALFORMED_REQUEST", "The request body is not valid JSON.") from None
            if not isinstance(self.body, dict):
                raise MlflowError("MALFORMED_REQUEST", "The request body must be a JSON object.")

    def get(self, name: str, default=None):
        value = self.query.get(name, default) if self.query is not None else self.body.get(name, default)
        if value is not None and not isinstance(value, str | int | bool):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"“{name}” must be a string.")
        return value

    def text(self, name: str, required: bool = True) -> str:
        value = self.get(name)
        if value is None or value == "":
            if required:
                raise MlflowError("INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{name}'.")
            return ""
        return str(value)

    def list(self, name: str) -> list:
        if self.query is not None:
            return self.query.getlist(name)
        value = self.body.get(name) or []
        if not isinstance(value, list):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"“{name}” must be a list.")
        return value

    def tags(self) -> dict[str, str]:
        tags = {}
        for tag in self.list("tags"):
            if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
                raise MlflowError("INVALID_PARAMETER_VALUE", "Tags are objects with a “key” and a “value”.")
            tags[tag["key"]] = tag.get("value") or ""
        return tags

    def max_results(self, default: int, limit: int) -> int:
        raw = self.get("max_results", default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise MlflowError("INVALID_PARAMETER_VALUE", "max_results must be a whole number.") from None
        if not 1 <= value <= limit:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"max_results must be between 1 and {limit:,}.")
        return min(value, PAGE_MAX)


def endpoint(*methods: str):
    """An MLflow handler `(request, registry, args) -> dict`: API-key auth, the registry, MLflow errors."""

    def decorate(handler):
        @csrf_exempt  # API keys only: no session cookie is read, so there is nothing to forge
        @functools.wraps(handler)
        def view(request: HttpRequest, org_slug: str, reg_slug: str, **kwargs) -> HttpResponse:
            token = None
            try:
                if request.method not in methods:
                    raise MlflowError("ENDPOINT_NOT_FOUND", f"{request.method} is not served here.")
                key = _authenticate(request)
                request.user = key.user
                detail = f"mlflow:api-key:{key.name}"
                token = set_context(AuditContext(ip=request.META.get("REMOTE_ADDR") or None, detail=detail))
                registry = _registry(request, org_slug, reg_slug)
                answer = handler(request, registry, Args(request), **kwargs)
                return answer if isinstance(answer, HttpResponseBase) else JsonResponse(answer)
            except MlflowError as exc:
                return _error(exc.code, exc.message)
            except ValidationError as exc:
                return _error("INVALID_PARAMETER_VALUE", _message(exc))
            except PermissionDenied as exc:
                return _error("PERMISSION_DENIED", str(exc) or "You do not have permission to do that.")
            except IntegrityError:
                return _error("RESOURCE_ALREADY_EXISTS", "A concurrent change made the same name; retry.")
            finally:
                if token is not None:
                    reset_context(token)

        view.login_required = False  # the API does its own auth (401 in MLflow's shape)
        return view

    return decorate


# --- Lookups ---


def _collection(registry: Registry, name: str) -> Collection:
    collection = registry.collections.select_related("registry__org").filter(name__iexact=name).first()
    if collection is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Registered Model with name={name} not found")
    return collection


def _index(version) -> int:
    """MLflow's version N (a string) as our link index N-1."""
    text = str(version)
    if not text.isdigit() or not 1 <= int(text) <= 10**9:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"Model version must be a positive whole number, not “{text[:40]}”."
        )
    return int(text) - 1


def _link(registry: Registry, args: Args) -> Link:
    collection = _collection(registry, args.text("name"))
    version = args.text("version")
    link = (
        Link.objects.select_related("version", "linked_by").filter(collection=collection, index=_index(version)).first()
    )
    if link is None:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"Model Version (name={collection.name}, version={version}) not found"
        )
    link.collection = collection
    return link


# --- Answers ---


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _prefix(request: HttpRequest, registry: Registry) -> str:
    return request.build_absolute_uri(f"/orgs/{registry.org.slug}/registry/{registry.slug}/mlflow")


def download_uri(request: HttpRequest, registry: Registry, link: Link) -> str:
    """Where the MLflow client gets a version's files: its source URI, or our mlflow-artifacts endpoint."""
    if link.version.reference_uri:
        return link.version.reference_uri
    return f"{_prefix(request, registry)}/api/2.0/mlflow-artifacts/artifacts/{ARTIFACTS_ROOT}/{link.pk}"


def _mlflow_info(version) -> dict:
    info = (version.metadata or {}).get("mlflow") if isinstance(version.metadata, dict) else None
    return info if isinstance(info, dict) else {}


def versions_json(request: HttpRequest, registry: Registry, links: list[Link]) -> list[dict]:
    """ModelVersion objects for links loaded with version, linked_by and collection; two more queries."""
    aliases = aliases_by_link([link.pk for link in links])
    tags: dict[int, list[dict]] = {}
    for version_id, key, value in VersionTag.objects.filter(
        version__in={link.version_id for link in links}
    ).values_list("version_id", "name", "value"):
        tags.setdefault(version_id, []).append({"key": key, "value": value})
    answers = []
    for link in links:
        info = _mlflow_info(link.version)
        answers.append(
            {
                "name": link.collection.name,
                "version": str(link.index + 1),
                "creation_timestamp": _ms(link.created_at),
                "last_updated_timestamp": _ms(link.created_at),
                "user_id": link.linked_by.username if link.linked_by else "",
                "current_stage": "None",
                "description": link.version.description,
                "source": download_uri(request, registry, link),
                "run_id": str(info.get("run_id") or ""),
                "run_link": str(info.get("run_link") or ""),
                "status": "READY",
                "status_message": "",
                "tags": tags.get(link.version_id, []),
                "aliases": aliases.get(link.pk, []),
            }
        )
    return answers


def _links(**where):
    """Links with what a ModelVersion shows, newest first (slice before reading)."""
    return Link.objects.select_related("version", "linked_by", "collection").filter(**where).order_by("-index")


def models_json(request: HttpRequest, registry: Registry, collections: list[Collection]) -> list[dict]:
    """RegisteredModel objects, with aliases, tags and the latest version; four more queries."""
    ids = [c.pk for c in collections]
    aliases: dict[int, list[dict]] = {}
    latest_link_ids = []
    for collection_id, alias, link_id, index in (
        LinkAlias.objects.filter(collection__in=ids)
        .order_by("alias")
        .values_list("collection_id", "alias", "link_id", "link__index")
    ):
        aliases.setdefault(collection_id, []).append({"alias": alias, "version": str(index + 1)})
        if alias == services.LATEST:
            latest_link_ids.append(link_id)
    tags: dict[int, list[dict]] = {}
    for collection_id, key, value in CollectionTag.objects.filter(collection__in=ids).values_list(
        "collection_id", "name", "value"
    ):
        tags.setdefault(collection_id, []).append({"key": key, "value": value})
    latest = {link.collection_id: link for link in _links(pk__in=latest_link_ids)} if latest_link_ids else {}
    latest_json = dict(zip(latest, versions_json(request, registry, list(latest.values())), strict=True))
    return [
        {
            "name": c.name,
            "creation_timestamp": _ms(c.created_at),
            "last_updated_timestamp": _ms(c.updated_at),
            "user_id": c.created_by.username if c.created_by else "",
            "description": c.description,
            "latest_versions": [latest_json[c.pk]] if c.pk in latest_json else [],
            "tags": tags.get(c.pk, []),
            "aliases": aliases.get(c.pk, []),
        }
        for c in collections
    ]


def _model(request, registry, collection) -> dict:
    collection = Collection.objects.select_related("created_by").get(pk=collection.pk)
    return {"registered_model": models_json(request, registry, [collection])[0]}


def _version(request, registry, link) -> dict:
    link = Link.objects.select_related("version", "linked_by", "collection").get(pk=link.pk)
    return {"model_version": versions_json(request, registry, [link])[0]}


def _page(rows, order: str, args: Args, default: int, limit: int) -> tuple[list, str | None]:
    """One keyset page by the shared pager; a token from another search is a 400, not a 500."""
    try:
        return cursor_page(rows, order=order, cursor=args.get("page_token"), per_page=args.max_results(default, limit))
    except (ValueError, TypeError, DataError):
        raise MlflowError("INVALID_PARAMETER_VALUE", "page_token belongs to another search or order.") from None


# --- Registered models ---


@endpoint("POST")
def model_create(request, registry, args):
    name = args.text("name")
    tags = args.tags()
    if registry.collections.filter(name__iexact=name).exists():
        raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists.")
    with transaction.atomic():
        collection = services.create_collection(
            actor=request.user, registry=registry, name=name, type="model", description=args.text("description", False)
        )
        for key, value in tags.items():
            services.set_collection_tag(actor=request.user, collection=collection, key=key, value=value)
    return _model(request, registry, collection)


@endpoint("GET")
def model_get(request, registry, args):
    return _model(request, registry, _collection(registry, args.text("name")))


@endpoint("POST")
def model_rename(request, registry, args):
    collection = _collection(registry, args.text("name"))
    new_name = args.text("new_name")
    if registry.collections.filter(name__iexact=new_name).exclude(pk=collection.pk).exists():
        raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Registered Model (name={new_name}) already exists.")
    services.rename_collection(actor=request.user, collection=collection, name=new_name)
    return _model(request, registry, collection)


@endpoint("PATCH")
def model_update(request, registry, args):
    collection = _collection(registry, args.text("name"))
    if args.get("description") is not None:
        services.update_collection_description(
            actor=request.user, collection=collection, description=args.text("description", False)
        )
    return _model(request, registry, collection)


@endpoint("DELETE")
def model_delete(request, registry, args):
    services.delete_collection(actor=request.user, collection=_collection(registry, args.text("name")))
    return {}


MODEL_ORDER = {"name": "name", "creation_timestamp": "created_at", "last_updated_timestamp": "updated_at"}


@endpoint("GET")
def model_search(request, registry, args):
    spec, keys = search.translate(args.get("filter"), {"name": "name"})
    fields = {"name": search.Field("name"), **search.tag_fields(CollectionTag, "collection", keys)}
    collections = apply_filter(registry.collections.all(), spec, fields, "registered model")
    order = search.order(args.list("order_by"), MODEL_ORDER, "name")
    rows, token = _page(collections.select_related("created_by"), order, args, 100, 1000)
    answer = {"registered_models": models_json(request, registry, rows)}
    return {**answer, "next_page_token": token} if token else answer


@endpoint("GET", "POST")
def model_latest_versions(request, registry, args):
    """MLflow without stages: every version is in stage "None", so the latest of that stage is the newest."""
    collection = _collection(registry, args.text("name"))
    stages = args.list("stages")
    for stage in stages:
        if not isinstance(stage, str) or stage.lower() not in STAGES:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid Model Version stage: {str(stage)[:40]}.")
    if stages and not any(stage.lower() == "none" for stage in stages):
        return {"model_versions": []}
    return {"model_versions": versions_json(request, registry, list(_links(collection=collection)[:1]))}


@endpoint("POST")
def model_tag_set(request, registry, args):
    collection = _collection(registry, args.text("name"))
    services.set_collection_tag(
        actor=request.user, collection=collection, key=args.text("key"), value=args.text("value", False)
    )
    return {}


@endpoint("DELETE")
def model_tag_delete(request, registry, args):
    collection = _collection(registry, args.text("name"))
    services.remove_collection_tag(actor=request.user, collection=collection, tag=args.text("key"))
    return {}


# --- Aliases ---


@endpoint("GET", "POST", "DELETE")
def alias(request, registry, args):
    """GET: the version holding an alias; POST: point it at a version; DELETE: remove it."""
    collection = _collection(registry, args.text("name"))
    name = args.text("alias")
    if request.method == "POST":
        services.add_alias(actor=request.user, link=_link(registry, args), alias=name)
        return {}
    held = LinkAlias.objects.filter(collection=collection, alias=name).select_related("link").first()
    if held is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Registered model alias {name} not found.")
    held.link.collection = collection
    if request.method == "DELETE":
        services.remove_alias(actor=request.user, link=held.link, alias=name)
        return {}
    return _version(request, registry, held.link)


# --- Model versions ---


MODELS_URI_RE = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/@]+))/?")


def _registry_link(request, registry: Registry, source: str) -> Link | None:
    """The link a source names when it points at this registry: our download URI, `models:/<name>/<N>`
    or `models:/<name>@<alias>` (a one-part `models:/<id>` is an MLflow logged model, elsewhere)."""
    root = f"{_prefix(request, registry)}/api/2.0/mlflow-artifacts/artifacts/{ARTIFACTS_ROOT}/"
    links = Link.objects.select_related("version").filter(collection__registry=registry)
    if source.startswith(root):
        link_id = source[len(root) :].strip("/")
        return links.filter(pk=int(link_id)).first() if link_id.isdigit() and len(link_id) < 12 else None
    match = MODELS_URI_RE.fullmatch(source)
    if match is None:
        return None
    links = links.filter(collection__name__iexact=match["name"])
    if match["version"] is not None:
        return links.filter(index=int(match["version"][:10]) - 1).first()
    return links.filter(aliases__alias=match["alias"], aliases__collection=F("collection")).first()


@endpoint("POST")
def version_create(request, registry, args):
    """A new version of a model; `source` says where its files are.

    Files elsewhere: a reference version to that URI. A version of this registry (our download URI,
    `models:/…`): the same files, so a stored version is linked again (the usual linking rules) and a
    reference version's URI is referenced again.
    """
    collection = _collection(registry, args.text("name"))
    source = args.text("source")
    tags = args.tags()
    metadata = {"mlflow": {k: args.text(k, False) for k in ("run_id", "run_link") if args.get(k)}}
    description = args.text("description", False)
    with transaction.atomic():
        existing = _registry_link(request, registry, source)
        if existing is not None and not existing.version.reference_uri:
            link = services.link_version(
                actor=request.user, version=existing.version, registry=registry, collection_name=collection.name
            )
            for key, value in tags.items():
                services.set_version_tag(actor=request.user, link=link, key=key, value=value)
        else:
            link = services.register_reference(
                actor=request.user,
                registry=registry,
                collection_name=collection.name,
                uri=existing.version.reference_uri if existing is not None else source,
                description=description,
                metadata=metadata if metadata["mlflow"] else None,
                tags=tags,
            )
    return _version(request, registry, link)


@endpoint("GET")
def version_get(request, registry, args):
    return _version(request, registry, _link(registry, args))


@endpoint("PATCH")
def version_update(request, registry, args):
    link = _link(registry, args)
    if args.get("description") is not None:
        services.update_version_description(actor=request.user, link=link, description=args.text("description", False))
    return _version(request, registry, link)


@endpoint("DELETE")
def version_delete(request, registry, args):
    services.unlink_version(actor=request.user, link=_link(registry, args))
    return {}


@endpoint("POST")
def version_transition_stage(request, registry, args):
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        "Registry has no model stages (MLflow deprecated them): point an alias at the version instead, "
        "e.g. client.set_registered_model_alias(name, 'production', version).",
    )


@endpoint("GET")
def version_download_uri(request, registry, args):
    link = _link(registry, args)
    require(request.user, "registries.download_registry", registry)
    return {"artifact_uri": download_uri(request, registry, link)}


@endpoint("POST")
def version_tag_set(request, registry, args):
    link = _link(registry, args)
    services.set_version_tag(actor=request.user, link=link, key=args.text("key"), value=args.text("value", False))
    return {}


@endpoint("DELETE")
def version_tag_delete(request, registry, args):
    services.remove_version_tag(actor=request.user, link=_link(registry, args), tag=args.text("key"))
    return {}


VERSION_ATTRIBUTES = {
    "name": "name",
    "version_number": "version",
    "run_id": "metadata.mlflow.run_id",
    "source_path": "source_path",
}
VERSION_ORDER = {
    "name": "model_name",
    "version_number": "index",
    "creation_timestamp": "created_at",
    "last_updated_timestamp": "created_at",
}


@endpoint("GET")
def version_search(request, registry, args):
    spec, keys = search.translate(args.get("filter"), VERSION_ATTRIBUTES, numbers={"version_number": -1})
    fields = {
        "name": search.Field("collection__name"),
        "version": search.Field("index", "int"),
        "metadata": search.Field("version__metadata", "json"),
        "source_path": search.Field("version__reference_uri"),
        **search.tag_fields(VersionTag, "version", keys, outer="version_id"),
    }
    links = apply_filter(Link.objects.filter(collection__registry=registry), spec, fields, "model version")
    order = search.order(args.list("order_by"), VERSION_ORDER, "-created_at")
    # The pager reads the order column off the last row, so the model name is an annotation.
    links = links.select_related("version", "linked_by", "collection").annotate(model_name=F("collection__name"))
    rows, token = _page(links, order, args, 10_000, 200_000)
    answer = {"model_versions": versions_json(request, registry, rows)}
    return {**answer, "next_page_token": token} if token else answer


# --- Files of versions Registry stores (mlflow-artifacts) ---


def _artifact_link(request, registry: Registry, path: str) -> tuple[Link, str]:
    """The link and the file path inside it for `versions/<link id>[/<path>]`; Viewer or more."""
    root, _, rest = path.strip("/").partition("/")
    link_id, _, inner = rest.partition("/")
    if root != ARTIFACTS_ROOT or not link_id.isdigit():
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No artifact at “{path[:200]}”.")
    link = Link.objects.select_related("version").filter(pk=int(link_id), collection__registry=registry).first()
    if link is None or link.version.reference_uri:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No artifact at “{path[:200]}”.")
    require(request.user, "registries.download_registry", registry)
    if ".." in inner.split("/"):
        raise MlflowError("INVALID_PARAMETER_VALUE", "Artifact paths may not contain '..'.")
    return link, inner.strip("/")


@endpoint("GET")
def artifact_list(request, registry, args):
    """The files and folders directly under a path of a version (names relative to that path)."""
    link, inner = _artifact_link(request, registry, args.text("path"))
    prefix = f"{inner}/" if inner else ""
    entries = ManifestEntry.objects.filter(version=link.version_id).order_by("path")
    if prefix:
        entries = entries.filter(path__startswith=prefix)
    files, folders = [], set()
    for path, size in entries.values_list("path", "size"):
        if path == inner:  # the path is a file: MLflow lists a file as itself
            return {"files": [{"path": posixpath.basename(path), "is_dir": False, "file_size": size}]}
        head, slash, _ = path[len(prefix) :].partition("/")
        if slash:
            folders.add(head)
        else:
            files.append({"path": head, "is_dir": False, "file_size": size})
    return {"files": [{"path": f, "is_dir": True} for f in sorted(folders)] + files}


@endpoint("GET")
def artifact_file(request, registry, args, path: str):
    link, inner = _artifact_link(request, registry, path)
    entry = ManifestEntry.objects.filter(version=link.version_id, path=inner).first()
    if entry is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No file “{inner[:200]}” in this version.")
    return file_response(entry)


@csrf_exempt
def not_found(request: HttpRequest, org_slug: str, reg_slug: str, rest: str) -> HttpResponse:
    return _error(
        "ENDPOINT_NOT_FOUND", f"Registry does not serve “{request.path[:200]}” (not in MLflow's registry API)."
    )


not_found.login_required = False
