"""The counting engine and what it stands on (measures, periods, areas, geometry).

Loading any part of the engine loads the counting engine itself, which registers the index a workspace save stores
beside the records (workstation.core.workspace.register_index_provider): a program that imports records and saves
them (the command line's import, the wizard) then writes a file whose first grid needs no sorting or hashing."""
from workstation.engine import analysis as _analysis  # noqa: F401 - registers the saved index (see above)
