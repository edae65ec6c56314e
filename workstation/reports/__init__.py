"""Reports: pure functions of (workspace, area, as-of date) that return ReportTables."""
from .table import COLUMN_KINDS, ReportTable

__all__ = ["ReportTable", "COLUMN_KINDS"]
