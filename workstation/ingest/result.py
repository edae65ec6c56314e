"""What an import returns and how it stops: ``ImportResult`` (the counts the CLI, the wizard and the import log
show), ``ImportCancelled`` and the bookkeeping both importers share (records in ``importer``, boundary files in
``boundaries``). Neither importer imports the other's module for these, so the two have no import cycle."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workstation.core.errors import Cancelled, stop_if

CANCELLED_MESSAGE = "Import cancelled; the workspace is unchanged."


class ImportCancelled(Cancelled):
    """The analyst cancelled; nothing was changed."""


def stop_import(should_stop) -> None:
    """Raise ImportCancelled when the job's cancel check (``should_stop``, may be None) says so."""
    stop_if(should_stop, ImportCancelled, CANCELLED_MESSAGE)


@dataclass
class ImportResult:
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    rejected_by_reason: dict = field(default_factory=dict)
    by_category: dict = field(default_factory=dict)
    profile: str = ""
    rejects: pd.DataFrame | None = None
    added: int = 0  # records of incidents the workspace did not have
    replaced: int = 0  # records of incidents it had: their older records were replaced (removed ones: ``removed``)
    removed: int = 0
    records: int = 0
    warnings: list = field(default_factory=list)
    load_id: int | None = None
    load_ids: list = field(default_factory=list)
    files: list = field(default_factory=list)  # one summary dict per file
    kind: str = ""
    duplicates_dropped: int = 0  # exact duplicate rows (also counted in rejected, reason "exact duplicate ...")
    merged: int = 0  # rows folded into an earlier row's record (a call's further status rows)

    def count_file(self, entry: dict) -> None:
        """Add one file's import-log entry to the totals: rows read, accepted and rejected (by reason), records by
        category, warnings and its load id."""
        self.rows_read += entry["rows_read"]
        self.accepted += entry["accepted"]
        self.rejected += entry["rejected"]
        for k, v in entry["rejected_by_reason"].items():
            self.rejected_by_reason[k] = self.rejected_by_reason.get(k, 0) + v
        for k, v in entry["by_category"].items():
            self.by_category[k] = self.by_category.get(k, 0) + v
        self.warnings += entry["warnings"]
        self.load_ids.append(entry["load_id"])

    def summary(self) -> dict:
        return {
            "kind": self.kind, "rows_read": self.rows_read, "accepted": self.accepted, "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason), "by_category": dict(self.by_category),
            "profile": self.profile, "records": self.records, "added": self.added, "replaced": self.replaced,
            "removed": self.removed, "warnings": list(self.warnings), "load_id": self.load_id,
            "load_ids": list(self.load_ids), "files": list(self.files),
            "duplicates_dropped": self.duplicates_dropped, "records_added": self.added,
            "records_replaced": self.replaced, "rows_merged": self.merged,
        }
