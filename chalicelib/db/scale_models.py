"""Items that let the busy parts scale: a campaign's budget shards (written by its awards instead of the campaign
item), and the progress of the jobs that fan out (the expiry's segments, the reconciliation's run). Bound to the one
table with every other item (``models.bind`` binds every subclass of ``_Item``)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.models import _Item

__all__ = ["CampaignShardItem", "ExpirySegmentItem", "ReconciliationItem"]


class CampaignShardItem(_Item):
    """``CAMPSHARD#<campaign>#<shard>`` / ``SHARD``: one share of a campaign's budget and of its report's totals.

    Every award adds to one shard (two or more only when it does not fit in one), guarded by ``used <= allowance -
    points`` with the shard's allowance (``domain.campaigns.allowances``), and by ``closed`` being absent: a
    campaign's transitions set ``closed`` on every shard when it stops awarding (paused, ended) and remove it when
    it starts again, so a pause racing a purchase cancels the award without the award touching the campaign item."""

    used = NumberAttribute(default=0)
    awards = NumberAttribute(default=0)
    customers = NumberAttribute(default=0)
    new_customers = NumberAttribute(default=0)
    points_awarded = NumberAttribute(default=0)
    revenue_minor = NumberAttribute(default=0)
    closed = UnicodeAttribute(null=True)


class ExpirySegmentItem(_Item):
    """``JOB#EXPIRYSEG`` / ``<YYYY-MM>#<shard>``: one segment of a month's expiry (one partition of its expiry index),
    worked by one task at a time: its cursor (DynamoDB's start key in the partition), what it did, whether it is
    done. The daily job hands out again a segment left running and not saved for a while."""

    month = UnicodeAttribute()
    shard = NumberAttribute()
    status = UnicodeAttribute()  # running | done
    start_key = UnicodeAttribute(null=True)
    customers = NumberAttribute(default=0)
    settled = NumberAttribute(default=0)
    updated_at = UnicodeAttribute()
    touched = NumberAttribute(default=0)  # updated_at in epoch seconds


class ReconciliationItem(_Item):
    """``RECON#<YYYY-MM>`` / ``RUN``: the period's latest reconciliation run (chalicelib/services/reconciliation.py):
    where it stands (the partition it reads, DynamoDB's start key in it), the figures folded so far, and its result
    once done. ``version`` guards every save: a run's page is counted once, whichever worker saves it."""

    job_id = UnicodeAttribute()
    status = UnicodeAttribute()  # running | done
    started_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    touched = NumberAttribute(default=0)  # updated_at in epoch seconds: a run not saved for a while is taken over
    finished_at = UnicodeAttribute(null=True)
    partners = UnicodeAttribute()  # JSON list, fixed when the run starts
    unit = NumberAttribute(default=0)  # index of the partner-period partition being read
    start_key = UnicodeAttribute(null=True)  # JSON of DynamoDB's LastEvaluatedKey in that partition
    entries = NumberAttribute(default=0)
    pages = NumberAttribute(default=0)
    sums = UnicodeAttribute(default="{}")  # JSON, packed (db/packed.py): target -> figures folded from the entries read
    result = UnicodeAttribute(null=True)  # JSON of the Reconciliation once done
    version = NumberAttribute(default=0)
