"""Incremental sync of the offline table's latest live values into the online store.

The sync remembers the offline snapshot it last reached (the caller keeps it; the Dagster asset
keeps it in its materialization metadata) and, from the snapshots committed since, learns which
time ranges changed (`feature_platform.offline_store.changes`). Only entities whose latest live
row lies in a changed range, differs from what that range held before, and is still within the
ttl are written (`diff`). So a backfill of windows older than the ttl, or of windows superseded
by newer rows, makes no online request at all, which is the cost SageMaker's always-online
writes made every backfill pay.

Online writes are latest-wins, which cannot follow a backfill that takes an entity's newest row
away (removes it, or replaces it with a row of an earlier event_time or created_at). For the
entities the changed windows held at the cursor, the offline table is the authority: where the
row they held then (the "before-row") was the entity's newest live row and no longer is, the
sync reads the entity's current latest live row from the whole table and writes it over the
stored item, or deletes the item when no live row is left (`corrections`).

Known limit: a bootstrap (no cursor, or an expired one) only writes, latest wins. It does not
remove items of entities that have left the table, nor replace an item newer than the table's
newest row; deleting the group's online table before the bootstrap does.

Modules: `run` (`sync_online`, `sync_table`), `diff`, `corrections`, `reads`, `report`
(`SyncReport`) and `cursor` (where the next sync starts, from what the last one recorded).
"""

from feature_platform.sync.report import SyncReport
from feature_platform.sync.run import sync_online, sync_table

__all__ = ["SyncReport", "sync_online", "sync_table"]
