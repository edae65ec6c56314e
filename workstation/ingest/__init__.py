"""The importer: spreadsheets and CSV exports in, canonical records out (see docs/import_profiles.md).

Qt-free API used by the CLI and the import wizard: ``read_table``, ``detect_profile``, ``Profile``,
``category_value_counts`` (or its halves ``source_value_counts`` and ``mapped_value_counts``), ``points_inside_city``,
``import_files`` (and ``ImportResult``, ``ImportCancelled``).
"""
from workstation.ingest.importer import (OUTSIDE_WARNING, category_value_counts, import_files, mapped_value_counts,
                                        points_inside_city, source_value_counts)
from workstation.ingest.result import ImportCancelled, ImportResult
from workstation.ingest.profiles import Profile, builtin_profiles, detect_profile
from workstation.ingest.readers import read_table

__all__ = ["OUTSIDE_WARNING", "ImportCancelled", "ImportResult", "Profile", "builtin_profiles",
           "category_value_counts", "detect_profile", "import_files", "mapped_value_counts", "points_inside_city",
           "read_table", "source_value_counts"]
