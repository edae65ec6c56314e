"""File → Import from Database…: the rows of an SQL query against an RMS/CAD warehouse (PostgreSQL), imported with the
same profiles, validation and merge as a file (workstation.ingest.database). Runs in a worker on a detached copy of
the workspace; the password is asked for here each time and never stored (the settings keep the address without it).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout)

from workstation.core.schema import DATASET_KINDS
from workstation.ingest.database import import_query, public_source

from ui.workers import TaskRunner

KIND_LABELS = {"offenses": "Offenses", "shootings": "Shootings", "calls": "Calls for service / sensor events",
               "activity": "Activity", "people": "People links"}


class DatabaseImportDialog(QDialog):
    def __init__(self, state, settings, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.result = None
        self.imported_kind: str | None = None
        self._work = None
        self.setWindowTitle("Import from a database")

        self.kind = QComboBox()
        for k in DATASET_KINDS:
            self.kind.addItem(KIND_LABELS.get(k, k), k)
        last_kind = settings.get("database/kind")
        self.kind.setCurrentIndex(max(0, self.kind.findData(last_kind)))
        self.source = QLineEdit(settings.get("database/source"))
        self.source.setPlaceholderText("postgresql://analyst@rms-warehouse:5432/rms")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("asked each time, never saved")
        self.password.setToolTip("Left blank, the password comes from PGPASSWORD or ~/.pgpass, as for psql.")
        self.query = QLineEdit(settings.get("database/query"))
        self.query.setPlaceholderText("a .sql file holding one SELECT statement")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        qrow = QHBoxLayout()
        qrow.addWidget(self.query, 1)
        qrow.addWidget(browse)
        self.since = QLineEdit(settings.get("database/since_column"))
        self.since.setPlaceholderText("optional: a column such as updated_at; only newer rows are pulled next time")

        form = QFormLayout()
        form.addRow("Records are", self.kind)
        form.addRow("Database", self.source)
        form.addRow("Password", self.password)
        form.addRow("Query file", qrow)
        form.addRow("Pull only newer rows of", self.since)

        self.status = QLabel("The query's columns are matched to an import profile as a file's header would be.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.import_button.clicked.connect(self.start_import)
        self.close_button.clicked.connect(self._cancel_or_close)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addWidget(self.progress)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(560)

        self.runner = TaskRunner(self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(round(f * 100))))
        self.runner.finished.connect(self._done)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Query file", self.query.text() or str(Path.home()),
                                              "SQL (*.sql);;All files (*)")
        if path:
            self.query.setText(path)

    def start_import(self) -> None:
        source = self.source.text().strip()
        query = self.query.text().strip()
        if not source or not query:
            self.status.setText("Give the database address and the query file.")
            return
        kind = self.kind.currentData()
        since = self.since.text().strip() or None
        password = self.password.text() or None
        # the address is remembered without its password; the password box is cleared once the job has it
        self.settings.set("database/source", public_source(source))
        self.settings.set("database/query", query)
        self.settings.set("database/since_column", since or "")
        self.settings.set("database/kind", kind)
        work = self.state.workspace.detached()
        self._work, self._kind = work, kind
        self.import_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(f"Running the query on {public_source(source)}…")

        def job(progress, should_stop):
            return import_query(work, kind, source, query, since_column=since, password=password, progress=progress,
                                should_stop=should_stop)

        self.runner.start(job, "the database import")
        self.password.clear()

    def _done(self, result) -> None:
        self.state.workspace.adopt(self._work, self._kind)
        self._work = None
        self.result = result
        self.imported_kind = self._kind
        self._idle()
        lines = [f"{result.rows_read:,} rows read, {result.accepted:,} accepted, {result.rejected:,} rejected; "
                 f"{result.added:,} new records, {result.replaced:,} replacing older ones."]
        lines += [f"Rejected: {n:,} {reason}" for reason, n in sorted(result.rejected_by_reason.items(),
                                                                       key=lambda kv: -kv[1])]
        lines += [f"Warning: {w}" for w in result.warnings]
        self.status.setText("\n".join(lines))

    def _failed(self, message: str, details: str) -> None:
        self._work = None
        self._idle()
        self.status.setText(message)

    def _cancelled(self) -> None:
        self._work = None
        self._idle()
        self.status.setText("Import cancelled; the workspace is unchanged.")

    def _idle(self) -> None:
        self.progress.hide()
        self.import_button.setEnabled(True)
        self.close_button.setText("Close")

    def _cancel_or_close(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()
        else:
            self.accept()

    def reject(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            return
        super().reject()

    def shutdown(self) -> None:
        self.runner.cancel()
        self.runner.wait()
