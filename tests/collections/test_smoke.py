from apps.collections.models import Link


def test_world_links_a_version(world):
    link = world.link(aliases=["candidate"])
    assert link.index == 0
    assert set(link.aliases.values_list("alias", flat=True)) == {"latest", "candidate"}
    assert Link.objects.visible_to(world["restricted_viewer"]).filter(pk=link.pk).exists()
    assert not Link.objects.visible_to(world["outsider"]).filter(pk=link.pk).exists()
