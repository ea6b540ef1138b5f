"""Seed the demo organization `acme` (idempotent): users, teams, projects, registries, versions."""

import io
import os
import random
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from apps.artifacts import services as artifacts
from apps.automations import services as automations
from apps.automations.models import Webhook
from apps.collections import services as collections
from apps.legacy import services as legacy
from apps.orgs import services as orgs
from apps.orgs.models import Organization, OrgRole
from apps.registries import services as registries
from apps.registries.models import Visibility

User = get_user_model()

USERS = [  # username, org role in acme, staff
    ("admin", OrgRole.ADMIN, True),
    ("member", OrgRole.MEMBER, False),
    ("viewer", OrgRole.VIEWER, False),
    ("rviewer", OrgRole.VIEWER, False),
]

MODEL_CARD = """## Summary
{what}

## Architecture
{arch}

## Deployment
Load with the Usage tab snippet and serve behind the `production` alias.

## License
Internal use only.
"""


def demo_password() -> str:
    """DEMO_PASSWORD if set; otherwise one generated once and kept in var/ (outside git)."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    path = Path(settings.VAR_DIR) / "demo_password"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def png(seed: int, label: str) -> bytes:
    """A small real PNG: a colour gradient with a label."""
    rnd = random.Random(seed)
    base = (rnd.randrange(40, 200), rnd.randrange(40, 200), rnd.randrange(40, 200))
    image = Image.new("RGB", (96, 96), base)
    draw = ImageDraw.Draw(image)
    for y in range(96):
        draw.line([(0, y), (95, y)], fill=(base[0], (base[1] + y) % 256, (base[2] + 2 * y) % 256))
    draw.rectangle([8, 8, 88, 30], fill=(255, 255, 255))
    draw.text((12, 12), label[:12], fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Command(BaseCommand):
    help = "Create the demo organization 'acme' with users, registries and linked versions (idempotent)."

    def handle(self, *args, **options):
        password = demo_password()
        users = self.ensure_users(password)
        if Organization.objects.filter(slug="acme").exists():
            self.stdout.write("Demo organization 'acme' already exists; users' passwords refreshed.")
        else:
            with transaction.atomic():
                self.seed(users)
            self.stdout.write(self.style.SUCCESS("Seeded demo organization 'acme'."))
        self.stdout.write("Log in as admin, member, viewer, rviewer or outsider")
        self.stdout.write(f"  password: {password}")

    def ensure_users(self, password: str) -> dict:
        users = {}
        for username, _role, staff in [*USERS, ("outsider", None, False)]:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com", "first_name": username.title()}
            )
            user.is_staff = user.is_superuser = staff
            user.set_password(password)
            user.save()
            users[username] = user
        return users

    def seed_automation(self, admin, org, registry) -> None:
        """A signed webhook fired when `production` moves in Model (DEMO_WEBHOOK_URL, default httpbin)."""
        url = os.environ.get("DEMO_WEBHOOK_URL", "https://httpbin.org/post")
        signing = automations.create_secret(
            actor=admin, org=org, name="DEMO_SIGNING_KEY", value=secrets.token_urlsafe(24)
        )
        try:
            hook = automations.create_webhook(
                actor=admin, org=org, name="demo receiver", url=url, signing_secret=signing
            )
        except ValidationError as error:  # e.g. no network to resolve the host: the demo goes on without it
            self.stdout.write(f"Skipped the demo automation ({'; '.join(error.messages)}).")
            return
        automations.create_automation(
            actor=admin,
            registry=registry,
            name="Deploy on production alias",
            event_type="ADD_ARTIFACT_ALIAS",
            alias_regex="^production$",
            webhook=hook,
            payload_template=(
                '{"event_type": "${event_type}", "version": "${artifact_version_string}", '
                '"author": "${event_author}", "accuracy": "${artifact_metadata.accuracy}"}'
            ),
        )

    def seed(self, u: dict) -> None:
        admin = u["admin"]
        acme = registries.create_organization(actor=admin, slug="acme", name="Acme ML")
        for username, role, _ in USERS[1:]:
            orgs.add_org_member(actor=admin, org=acme, user=u[username], role=role)
        globex = registries.create_organization(actor=admin, slug="globex", name="Globex Research")
        orgs.add_org_member(actor=admin, org=globex, user=u["outsider"], role=OrgRole.ADMIN)
        orgs.remove_org_member(actor=admin, membership=globex.memberships.get(user=admin))

        vision = orgs.create_team(actor=admin, org=acme, name="vision")
        nlp = orgs.create_team(actor=admin, org=acme, name="nlp")
        orgs.add_team_member(actor=admin, team=vision, user=u["member"])
        orgs.add_team_member(actor=admin, team=nlp, user=u["member"])
        orgs.add_team_member(actor=admin, team=vision, user=u["viewer"])

        data_prep = artifacts.create_project(actor=admin, team=vision, name="data-prep")
        detector = artifacts.create_project(actor=admin, team=vision, name="detector-training")
        llm = artifacts.create_project(actor=admin, team=nlp, name="llm-finetune")

        models = acme.registries.get(slug="model")
        datasets = acme.registries.get(slug="dataset")
        finetuned = registries.create_registry(
            actor=admin,
            org=acme,
            name="Fine-tuned Models",
            description="Models fine-tuned from foundation checkpoints, ready for evaluation.",
            artifact_types=["model"],
        )
        golden = registries.create_registry(
            actor=admin,
            org=acme,
            name="Golden Datasets",
            description="Hand-labelled evaluation sets. Access is restricted.",
            visibility=Visibility.RESTRICTED,
            artifact_types=["dataset"],
        )
        registries.grant_registry_role(actor=admin, registry=golden, principal=u["member"], role="member")
        registries.grant_registry_role(actor=admin, registry=golden, principal=u["rviewer"], role="restricted_viewer")
        registries.grant_registry_role(actor=admin, registry=finetuned, principal=nlp, role="member")
        registries.grant_registry_role(actor=admin, registry=models, principal=vision, role="member")
        # A service account for CI (Settings → Service accounts): Member of the Model registry, W&B's default.
        ci = orgs.create_service_account(
            actor=admin, org=acme, name="ci-deploy", team=vision, description="Deploys promoted models from CI."
        )
        registries.grant_registry_role(actor=admin, registry=models, principal=ci.user)
        for reg in (models, finetuned, golden):
            registries.declare_protected_alias(actor=admin, registry=reg, alias="production")
        registries.declare_protected_alias(actor=admin, registry=models, alias="staging")
        registries.add_registry_types(actor=admin, registry=datasets, artifact_types=["eval-set"])
        registries.star_registry(actor=u["member"], registry=models)
        registries.star_registry(actor=admin, registry=golden)
        self.seed_automation(admin, acme, models)

        rnd = random.Random(7)
        specs = [  # registry, project, collection, type, versions
            (datasets, data_prep, "coco-subset", "dataset", 14),
            (datasets, data_prep, "street-scenes", "dataset", 10),
            (datasets, data_prep, "product-photos", "dataset", 8),
            (golden, data_prep, "eval-holdout", "dataset", 6),
            (golden, data_prep, "edge-cases", "dataset", 5),
            (golden, data_prep, "human-labelled-v2", "dataset", 4),
            (datasets, llm, "support-tickets", "dataset", 9),
            (datasets, llm, "instruction-mix", "dataset", 7),
            (models, detector, "yolo-detector", "model", 30),
            (models, detector, "segmenter", "model", 18),
            (models, detector, "depth-estimator", "model", 12),
            (models, llm, "intent-classifier", "model", 20),
            (models, llm, "summarizer", "model", 16),
            (models, detector, "ocr-reader", "model", 10),
            (finetuned, llm, "llama-support", "model", 24),
            (finetuned, llm, "mistral-sql", "model", 15),
            (finetuned, llm, "tiny-chat", "model", 11),
            (finetuned, detector, "yolo-night", "model", 9),
            (models, detector, "anomaly-scorer", "model", 6),
            (datasets, data_prep, "sensor-logs", "dataset", 5),
        ]
        dataset_versions = []
        for registry, project, name, type_, count in specs:
            owner = u["member"]
            collection = collections.create_collection(
                actor=admin,
                registry=registry,
                name=name,
                type=type_,
                description=MODEL_CARD.format(
                    what=f"**{name}** — {'a curated dataset' if type_ == 'dataset' else 'a model'} from `{project}`.",
                    arch="Convolutional backbone with a task head." if type_ == "model" else "n/a",
                ),
                tags=[rnd.choice(["vision", "nlp", "baseline", "experimental"]), "team-" + project.team.name],
            )
            accuracy = 0.6
            for i in range(count):
                run = artifacts.create_run(
                    actor=owner, project=project, name=f"{name}-run-{i}", config={"lr": 0.001 * (i + 1)}
                )
                if type_ == "model" and dataset_versions:
                    collections.use_artifact(actor=owner, run=run, version=rnd.choice(dataset_versions))
                accuracy = min(0.99, accuracy + rnd.uniform(0, 0.03))
                metadata = {
                    "accuracy": round(accuracy, 4),
                    "loss": round(1 - accuracy + rnd.uniform(0, 0.05), 4),
                    "epochs": rnd.randrange(3, 40),
                    "framework": rnd.choice(["pytorch", "jax"]),
                }
                files = {"README.md": f"# {name} v{i}\n".encode()}
                if type_ == "model":
                    files["model.safetensors"] = rnd.randbytes(256 + i)
                    files["config.json"] = f'{{"layers": {rnd.randrange(4, 48)}}}'.encode()
                else:
                    metadata = {"rows": rnd.randrange(1000, 90000), "split": "train", **metadata}
                    files[f"samples/{i:04d}.png"] = png(sum(map(ord, name)) + i, f"{name[:8]}{i}")
                    files["labels.csv"] = (
                        "id,label\n" + "".join(f"{j},{rnd.choice('abc')}\n" for j in range(20))
                    ).encode()
                version = artifacts.log_artifact(
                    actor=owner,
                    project=project,
                    name=name,
                    type=type_,
                    files=files,
                    metadata=metadata,
                    description=f"Version {i} of {name}.",
                    run=run,
                )
                if type_ == "dataset":
                    dataset_versions.append(version)
                link = collections.link_version(actor=admin, version=version, registry=registry, collection_name=name)
                if i % 4 == 0:
                    collections.add_version_tag(
                        actor=admin, link=link, tag=rnd.choice(["validated", "candidate", "nightly"])
                    )
            links = list(collection.links.order_by("-index")[:3])
            if links:
                collections.add_alias(actor=admin, link=links[-1], alias="production")
                collections.add_alias(actor=admin, link=links[0], alias="candidate")
        self.seed_legacy(admin, u["member"], nlp, llm)

    def seed_legacy(self, admin, member, team, project) -> None:
        """Team nlp still on the legacy Model Registry (`manage.py migrate_legacy_registry` moves it):
        a protected alias, gaps in indexes, a per-model "New version linked" webhook."""
        legacy.declare_protected_alias(actor=admin, team=team, alias="production")
        for model_name, count, unlink in [("ticket-router", 5, (1, 3)), ("sentiment", 3, (1,))]:
            links = []
            for i in range(count):
                version = artifacts.log_artifact(
                    actor=member,
                    project=project,
                    name=f"{model_name}-train",
                    type="model",
                    files={"model.bin": f"{model_name} {i}".encode()},
                    metadata={"accuracy": round(0.7 + i * 0.04, 2)},
                )
                links.append(legacy.link_model_version(actor=member, version=version, team=team, model_name=model_name))
            for index in unlink:
                legacy.unlink_model_version(actor=member, link=links[index])
            legacy.add_model_alias(actor=admin, link=links[0], alias="production")
            model = links[0].model
            legacy.add_model_tag(actor=member, model=model, tag="nlp")
            legacy.update_model_description(
                actor=member, model=model, description=f"# {model_name}\n\nRegistered in the legacy Model Registry."
            )
        hook = Webhook.objects.filter(org=team.org).first()
        if hook is not None:
            legacy.set_model_notification(actor=member, model=model, webhook=hook)
