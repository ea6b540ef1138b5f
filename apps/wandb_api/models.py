"""What the wandb SDK's upload protocol needs beyond our versions: an artifact being logged.

The SDK creates an artifact, uploads its files (named by MD5 only) and then its manifest, and only
then commits. Our versions are created whole from a manifest of SHA-256 digests, so the SDK's
artifact waits here until commit turns it into an ArtifactVersion (through the artifacts services).
"""

from django.conf import settings
from django.db import models

from apps.artifacts.models import ArtifactVersion, Project, Run


class PendingArtifact(models.Model):
    """An artifact the SDK is logging; `version` is set when it is committed (or matched an existing one)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=128)
    digest = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    client_id = models.CharField(max_length=128, blank=True, db_index=True)
    manifest = models.JSONField(null=True, blank=True)  # the uploaded manifest's `contents`
    version = models.ForeignKey(ArtifactVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.project}/{self.name} (pending {self.pk})"


class StagedFile(models.Model):
    """A file the SDK declared for a pending artifact: its bytes are stored (`sha256`) or on their way."""

    pending = models.ForeignKey(PendingArtifact, on_delete=models.CASCADE, related_name="files", db_index=False)
    name = models.CharField(max_length=1024)
    md5 = models.CharField(max_length=32)  # hex, from the SDK's base64 digest
    sha256 = models.CharField(max_length=64, blank=True)  # known once the bytes are verified
    staging_key = models.CharField(max_length=128, blank=True)  # S3: where the SDK's presigned PUT lands
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pending", "name"], name="wandb_api_stagedfile_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
