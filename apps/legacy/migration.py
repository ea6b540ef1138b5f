"""Migrating a team's legacy Model Registry into a Restricted registry `<team>-mr-migrated` (W&B's migration).

The system runs it (`manage.py migrate_legacy_registry`, or the admin action through the worker).
Per team: one transaction creates the registry (members: the team's members, team admins as
Admin; its protected aliases) and the `LegacyMigration` row, which makes the legacy registry
read-only from then on. Then each registered model is copied in its own transaction into a
collection with the same indexes (gaps kept), aliases, tags, description, creator and dates, and
its notification as an automation; links point at the same source versions (no bytes copied).
A killed run leaves whole models only: the next run copies the rest (`migrated_to` marks what is
done), and a run with nothing left says so. Every created object writes one audit event marked
`"migrated": true`.

The rows of the new registry are written here rather than through collections' services, because
those give every link the collection's next index and `now()` as its date: a migration must keep
both. Permissions still go through `grant_role`, and the names were validated when the legacy
objects were made.
"""

import os
import signal
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.audit.models import Action
from apps.audit.services import record
from apps.automations.models import Automation, EventType, Scope
from apps.collections.models import Collection, CollectionTag, Link, LinkAlias
from apps.legacy.models import (
    LEGACY_PROJECT,
    LegacyMigration,
    LegacyProtectedAlias,
    LegacyRegistryAdmin,
    ModelAlias,
    ModelLink,
    RegisteredModel,
)
from apps.orgs.models import OrgRole, Team
from apps.orgs.permissions import Role, grant_role, require_system
from apps.registries.models import ProtectedAlias, Registry, Visibility

# Test hook: "die-in:N" kills the process inside the Nth model's transaction (after its rows are
# written, before the commit); "die-after:N" after the Nth model commits; "sleep:S" sleeps S
# seconds after each model (to watch progress).
HOOK_ENV = "REGISTRY_LEGACY_MIGRATION_HOOK"


def registry_name_for(team: Team) -> str:
    return f"{team.name}-mr-migrated"


@dataclass
class ModelReport:
    name: str
    links: int = 0
    indexes: list[int] = field(default_factory=list)
    aliases: int = 0
    tags: int = 0
    automations: int = 0
    status: str = "migrated"  # migrated | already migrated | skipped: <why>


@dataclass
class TeamReport:
    team: str
    registry: str
    registry_status: str = ""  # "created" | "exists"
    members: int = 0
    admins: int = 0
    protected_aliases: int = 0
    models: list[ModelReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def migrated(self) -> list[ModelReport]:
        return [m for m in self.models if m.status == "migrated"]

    @property
    def changed(self) -> bool:
        return self.registry_status == "created" or bool(self.migrated)

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "was"
        head = f"Team {self.team} → registry “{self.registry}” ({self.registry_status})"
        out = [("[dry run] " if self.dry_run else "") + head]
        if self.registry_status != "exists":
            out.append(f"  members: {self.members} ({self.admins} admin), protected aliases: {self.protected_aliases}")
        for model in self.models:
            if model.status == "migrated":
                gaps = ", ".join(f"v{i}" for i in model.indexes)
                out.append(
                    f"  {model.name}: {verb} migrated — {model.links} versions ({gaps or 'none'}), "
                    f"{model.aliases} aliases, {model.tags} tags, {model.automations} automations"
                )
            else:
                out.append(f"  {model.name}: {model.status}")
        skipped = [m for m in self.models if m.status.startswith("skipped")]
        done = len(self.models) - len(self.migrated) - len(skipped)
        if not self.changed:
            out.append(f"  Nothing to do: the {self.team} model registry is already migrated ({done} models).")
        else:
            migrated = "would be migrated" if self.dry_run else "migrated"
            out.append(f"  {len(self.migrated)} {migrated}, {done} already migrated, {len(skipped)} skipped.")
        return out


def _hook(kind: str, count: int) -> None:
    hook = os.environ.get(HOOK_ENV, "")
    name, _, value = hook.partition(":")
    if name == kind and value.isdigit() and int(value) == count:
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "sleep" and kind == "die-after":
        time.sleep(float(value or 0))


def _audit(team: Team, action: Action, target, data: dict, **pks) -> None:
    record(actor=None, org=team.org, action=action, target=target, data={"migrated": True, **data}, **pks)


def _members(team: Team) -> list[tuple[object, Role]]:
    """(user, role) for the team's members: team admins (org admins, registry admins) → Admin, others Member."""
    admins = set(LegacyRegistryAdmin.objects.filter(team=team).values_list("user_id", flat=True))
    admins |= set(team.org.memberships.filter(role=OrgRole.ADMIN).values_list("user_id", flat=True))
    return [
        (m.user, Role.ADMIN if m.user_id in admins else Role.MEMBER)
        for m in team.memberships.select_related("user").order_by("user__username")
    ]


def _model_report(model: RegisteredModel) -> ModelReport:
    indexes = sorted(model.links.values_list("index", flat=True))
    return ModelReport(
        name=model.name,
        links=len(indexes),
        indexes=indexes,
        aliases=ModelAlias.objects.filter(model=model).count(),
        tags=model.tags.count(),
        automations=1 if model.notify_webhook_id else 0,
    )


def _start(team: Team, report: TeamReport) -> LegacyMigration | None:
    """The team's migration row and registry, created once (one transaction); None if the name is taken."""
    with transaction.atomic():
        migration = LegacyMigration.objects.select_for_update().filter(team=team).first()
        if migration is not None and migration.registry_id:
            report.registry_status = "exists"
            return migration
        name = registry_name_for(team)
        if Registry.objects.filter(org=team.org, name__iexact=name).exists():
            report.registry_status = f"skipped: a registry named “{name}” already exists"
            return None
        registry = Registry.objects.create(
            org=team.org,
            name=name,
            slug=name,
            description=f"Migrated from the {team.name} legacy Model Registry.",
            visibility=Visibility.RESTRICTED,
            allow_all_types=True,
        )
        _audit(
            team,
            Action.REGISTRY_CREATE,
            registry,
            {"name": name, "visibility": "restricted", "team": team.name},
            registry_pk=registry.pk,
        )
        grant_role(team.org.admins_group, Role.ADMIN, registry)  # org admins are Admin everywhere
        for user, role in _members(team):
            grant_role(user, role, registry)
            _audit(
                team,
                Action.ROLE_CREATE,
                registry,
                {"user": user.get_username(), "role": role.value},
                registry_pk=registry.pk,
            )
        for row in LegacyProtectedAlias.objects.filter(team=team):
            alias = ProtectedAlias.objects.create(registry=registry, alias=row.alias)
            _audit(team, Action.PROTECTED_ALIAS_CREATE, alias, {"alias": row.alias}, registry_pk=registry.pk)
        migration = LegacyMigration.objects.create(team=team, registry=registry, registry_name=name)
        report.registry_status = "created"
        return migration


def _copy_model(model: RegisteredModel, registry: Registry) -> None:
    """Copy one registered model into a collection of `registry` (inside the caller's transaction)."""
    team = model.team
    links = list(model.links.select_related("version__sequence").order_by("index"))
    type_ = links[0].version.sequence.type if links else "model"
    collection = Collection.objects.create(
        registry=registry,
        name=model.name,
        type=type_,
        description=model.description,
        next_index=model.next_index,
        created_by=model.created_by,
    )
    Collection.objects.filter(pk=collection.pk).update(created_at=model.created_at)
    pks = {"registry_pk": registry.pk, "collection_pk": collection.pk}
    source = f"{team.name}/{LEGACY_PROJECT}/{model.name}"
    _audit(team, Action.COLLECTION_CREATE, collection, {"name": model.name, "type": type_, "from": source}, **pks)
    for tag in model.tags.all():
        CollectionTag.objects.create(collection=collection, name=tag.name)
        _audit(team, Action.COLLECTION_ADD_TAG, collection, {"tag": tag.name, "from": source}, **pks)
    new_links = {}
    for old in links:
        link = Link.objects.create(collection=collection, version=old.version, index=old.index, linked_by=old.linked_by)
        Link.objects.filter(pk=link.pk).update(created_at=old.created_at)
        new_links[old.pk] = link
        ModelLink.objects.filter(pk=old.pk).update(migrated_to=link)
        data = {"version": f"v{old.index}", "source": str(old.version), "from": f"{source}:v{old.index}"}
        _audit(team, Action.COLLECTION_LINK, link, data, version_pk=old.version_id, **pks)
    for alias in ModelAlias.objects.filter(model=model).order_by("alias"):
        link = new_links[alias.link_id]
        LinkAlias.objects.create(collection=collection, link=link, alias=alias.alias)
        _audit(
            team,
            Action.ALIAS_ADD,
            link,
            {"alias": alias.alias, "version": f"v{link.index}", "from": source},
            version_pk=link.version_id,
            **pks,
        )
    if model.notify_webhook_id:
        automation = Automation.objects.create(
            org=registry.org,
            scope=Scope.COLLECTION,
            registry=registry,
            collection=collection,
            # The legacy toggle becomes the collection's "notify on new version" switch.
            is_new_version_notification=True,
            name=f"{model.name[:100]}: new version linked",
            event_type=EventType.LINK_ARTIFACT,
            webhook_id=model.notify_webhook_id,
            created_by=model.created_by,
        )
        # Collections' events reach automations only in flagged registries (see automations' services).
        Registry.objects.filter(pk=registry.pk).update(has_automations=True)
        registry.has_automations = True
        _audit(
            team,
            Action.AUTOMATION_CREATE,
            automation,
            {"name": automation.name, "event_type": "LINK_ARTIFACT", "from": source},
            **pks,
        )
    RegisteredModel.objects.filter(pk=model.pk).update(migrated_to=collection)


def migrate_team(*, actor, team: Team, dry_run: bool = False, progress=None) -> TeamReport:
    """Migrate (or, with `dry_run`, report what would migrate) one team's legacy registry. Idempotent."""
    require_system(actor)
    report = TeamReport(team=team.name, registry=registry_name_for(team), dry_run=dry_run)
    models = list(RegisteredModel.objects.filter(team=team).select_related("team__org").order_by("name"))
    if dry_run:
        migration = LegacyMigration.objects.filter(team=team, registry__isnull=False).first()
        report.registry_status = "exists" if migration else "would be created"
        members = _members(team)
        report.members, report.admins = len(members), sum(role == Role.ADMIN for _, role in members)
        report.protected_aliases = LegacyProtectedAlias.objects.filter(team=team).count()
        for model in models:
            report.models.append(
                _model_report(model)
                if model.migrated_to_id is None
                else ModelReport(model.name, status="already migrated")
            )
        return report
    members = _members(team)
    report.members, report.admins = len(members), sum(role == Role.ADMIN for _, role in members)
    report.protected_aliases = LegacyProtectedAlias.objects.filter(team=team).count()
    migration = _start(team, report)
    if migration is None:
        return report
    registry = migration.registry
    copied = 0
    for position, model in enumerate(models, start=1):
        with transaction.atomic():
            locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
            if locked.migrated_to_id is not None:
                report.models.append(ModelReport(model.name, status="already migrated"))
            elif Collection.objects.filter(registry=registry, name__iexact=model.name).exists():
                report.models.append(
                    ModelReport(model.name, status="skipped: the registry already has a collection of that name")
                )
            else:
                entry = _model_report(locked)
                _copy_model(locked, registry)
                report.models.append(entry)
                copied += 1
                _hook("die-in", copied)
        if progress:
            progress(position, len(models))
        _hook("die-after", copied)
    if migration.finished_at is None:
        with transaction.atomic():
            LegacyMigration.objects.filter(pk=migration.pk).update(finished_at=timezone.now())
            _audit(
                team,
                Action.LEGACY_MIGRATE,
                migration,
                {"registry": registry.name, "models": len(models)},
                registry_pk=registry.pk,
            )
    return report


def teams_with_legacy_content(team_name: str | None = None):
    teams = Team.objects.select_related("org").order_by("name")
    if team_name:
        return teams.filter(name=team_name)
    return teams.filter(registered_models__isnull=False).distinct()
