"""The search index follows the CMS: a page published is indexed, a page unpublished or deleted leaves it."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.signals import page_published, page_unpublished

from proactif.assist.models import ActualitePage, DemarchePage, EvenementPage, Theme


@receiver(page_published)
def _published(sender: Any, instance: Any, **_: Any) -> None:
    from proactif.assist import _site

    _site.index_pages([instance.pk])


@receiver(page_unpublished)
@receiver(post_delete, sender=DemarchePage)
@receiver(post_delete, sender=ActualitePage)
@receiver(post_delete, sender=EvenementPage)
def _withdrawn(sender: Any, instance: Any, **_: Any) -> None:
    # post_delete only for the indexed page types: a receiver without a sender would listen to every model's
    # deletions and take Django's fast path (one DELETE, no rows loaded) away from every purge of the platform
    from proactif.assist import _site

    _site.unindex_pages([instance.pk])


@receiver(post_save, sender=DemarchePage)
@receiver(post_save, sender=ActualitePage)
@receiver(post_save, sender=EvenementPage)
@receiver(post_save, sender=Theme)
@receiver(post_delete, sender=Theme)
def _changed(sender: Any, instance: Any, **_: Any) -> None:
    """A page saved without being published again, a theme edited: the pages each process keeps are read again."""
    from proactif.assist import _site

    _site.forget_live_pages()


@receiver(post_save, sender="wagtailcore.PageViewRestriction")
@receiver(post_delete, sender="wagtailcore.PageViewRestriction")
def _restricted(sender: Any, instance: Any, **_: Any) -> None:
    """A restriction set or lifted on a page reaches it and the pages under it: indexed only while public."""
    from wagtail.models import Page

    from proactif.assist import _site

    _site.index_pages(list(Page.objects.descendant_of(instance.page, inclusive=True).values_list("pk", flat=True)))
