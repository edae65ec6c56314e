"""How an export stops: ExportCancelled, raised by the workbook and by any sheet module (spatial_sheet, ...) without
importing workbook.py (which imports them: that was an import cycle)."""
from workstation.core.errors import Cancelled, stop_if

CANCELLED_MESSAGE = "Export cancelled; no workbook was written."


class ExportCancelled(Cancelled):
    """The analyst cancelled the export; nothing was written."""


def stop_export(should_stop) -> None:
    """Raise ExportCancelled when the export's cancel check (may be None) says so."""
    stop_if(should_stop, ExportCancelled, CANCELLED_MESSAGE)
