"""The boundary being edited on the map, apart from the panel's widgets: which area it is, the BoundaryEditor and its
engine, the draft kept in the workspace (autosaved with it, offered back after a crash), saving the shape as a
scenario, and following renames and deletions of scenarios.

MapPanel owns one EditSession and shows what it signals; the session asks the panel nothing except through the
callables it is given (the name of a new scenario, whether to replace one).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from workstation.core.errors import UserError

DRAFT_KEY = "map_boundary_draft"


class EditSession(QObject):
    changed = Signal()                    # the edited area, the editor or the undo history changed
    figures = Signal(object, object)      # the editor's figures and a message (None) to paint
    message = Signal(str)                 # a sentence for the figures panel (why editing could not start, ...)

    def __init__(self, state, view, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.view = view                           # MapView: shows the edited shape
        self.editor = None                         # workstation.whatif.engine.BoundaryEditor while editing
        self.editing_key: str | None = None        # "target_area:X", "scenario:X" or "new"
        self.sticky_message = ""                   # stays until the next edit (a restored draft)
        self.pending: tuple | None = None          # an edit asked for while the engine's indexes were prepared
        self._engine = None
        self._engine_key = None

    # ---- the live engine (one per workspace and as-of date) ----
    def engine_key_now(self):
        return (id(self.state.workspace), str(self.state.as_of))

    def engine_is_current(self) -> bool:
        return self._engine_key == self.engine_key_now()

    def forget_engine(self) -> None:
        self._engine = None

    def engine(self):
        from workstation.whatif.engine import build_whatif

        key = self.engine_key_now()
        if self._engine is None or self._engine_key != key:
            self._engine = build_whatif(self.state.workspace, self.state.as_of)
            self._engine_key = key
        return self._engine

    def ready(self) -> bool:
        return self.state.ready

    # ---- starting and stopping ----
    def has_unsaved_edit(self) -> bool:
        """True while the edited shape differs from the boundary it came from (or is a new, unsaved shape)."""
        if self.editor is None:
            return False
        return self.editing_key == "new" or len(self.editor.stack) > 0 or self.editor.shape != self.official_shape()

    def start(self, key: str, shape=None) -> bool:
        """Edit the boundary of a target area or scenario (``key``), or a new ``shape`` (key "new")."""
        from workstation.whatif.engine import BoundaryEditor, InvalidShape

        ws = self.state.workspace
        if ws is None:
            return False
        if not self.ready():
            self.pending = (key, shape, False)
            return False
        if shape is None:
            kind, _, name = key.partition(":")
            area = ws.area(name, kind)
            if area is None:
                return False
            shape = area.geometry
            if shape is None:
                self.message.emit("This district is known only from the records' district column and has no "
                                  "boundary yet; import the district boundaries first.")
                return False
        if getattr(shape, "geom_type", "Polygon") == "MultiPolygon":
            self.message.emit("This area has several separate parts; the map edits one-part boundaries. Draw a new "
                              "shape instead.")
            return False
        try:
            self.editor = BoundaryEditor(self.engine(), shape, area_key=key, show_shape=self.view.replace_editor_shape,
                                         on_figures=self.figures.emit)
        except (InvalidShape, UserError) as exc:
            self.message.emit(str(exc))
            return False
        self.editing_key = key
        self.editor.stack.subscribe(self._stack_changed)
        self.editor.stack.subscribe(self.store_draft)
        self.changed.emit()
        self.view.set_editor_shape(self.editor.shape, True)
        self.figures.emit(self.editor.figures, None)
        return True

    def _stack_changed(self) -> None:
        self.changed.emit()

    def restart(self) -> None:
        """The data or the as-of date changed: same shape, new engine (the undo history stays valid)."""
        from workstation.whatif.engine import BoundaryEditor

        if self.editor is None:
            return
        old = self.editor
        self.editor = BoundaryEditor(self.engine(), old.shape, area_key=old.area_key, stack=old.stack,
                                     show_shape=self.view.replace_editor_shape, on_figures=self.figures.emit)
        self.figures.emit(self.editor.figures, None)

    def stop(self, keep_draft: bool = False) -> None:
        if self.editor is not None:
            self.editor.stack.unsubscribe(self._stack_changed)
            self.editor.stack.unsubscribe(self.store_draft)
            if not keep_draft:
                self.clear_draft()
        self.editor = None
        self.editing_key = None
        if self.view.page() is not None:
            self.view.run_js("if (window.PSP && PSP.editor.map) PSP.editor.setShape(null);")
        self.changed.emit()

    def take_pending(self) -> None:
        """The indexes are ready: start the edit that was asked for meanwhile."""
        if self.pending is None:
            return
        key, shape, restored = self.pending
        self.pending = None
        if restored:
            self.restore_draft()
        else:
            self.start(key, shape)

    # ---- the page's editor talks to us ----
    def on_shape_message(self, msg: dict) -> dict:
        if self.editor is None:
            if msg.get("kind") == "created" and msg.get("shape"):
                from workstation.core.commands import freeze_shape

                refused = []
                self.message.connect(refused.append)
                try:
                    started = self.start("new", shape=freeze_shape(msg["shape"]))
                finally:
                    self.message.disconnect(refused.append)
                if started:
                    return {"ok": True, "kind": "new"}
                return {"ok": False, "refused": True, "message": refused[-1] if refused else "", "revert": True,
                        "shape": []}
            return {"ok": False, "message": "not editing"}
        if msg.get("kind") == "created":
            import json

            try:
                self.editor.set_shape(msg["shape"], label="new shape")
            except UserError as exc:
                return {"ok": False, "refused": True, "message": str(exc), "revert": True,
                        "shape": json.loads(json.dumps(self.editor.shape))}
            return {"ok": True, "kind": "new"}
        return self.editor.handle(msg)

    def title(self) -> str:
        key = self.editing_key or ""
        if key == "new":
            return "New shape (not saved)"
        kind, _, name = key.partition(":")
        changed = self.editor is not None and self.editor.shape != self.official_shape()
        base = f"{'Target area' if kind == 'target_area' else 'Scenario'}: {name}"
        return base + (" — edited, not saved" if changed else "")

    def official_shape(self):
        from workstation.core.commands import shape_from_geometry

        kind, _, name = (self.editing_key or "").partition(":")
        ws = self.state.workspace
        a = ws.area(name, kind) if ws is not None and name else None
        return shape_from_geometry(a.geometry) if a is not None and a.geometry is not None else None

    def undo(self) -> None:
        if self.editor is not None:
            self.editor.undo()

    def redo(self) -> None:
        if self.editor is not None:
            self.editor.redo()

    # ---- saving as a scenario ----
    def save_scenario(self, name: str | None, ask_name, confirm_replace, warn) -> str | None:
        """Save the edited shape as a named scenario. ``ask_name(suggestion)`` gives the name when none was given
        (None: cancelled); ``confirm_replace(name)`` says whether another scenario of that name may be replaced;
        ``warn(text)`` tells the analyst why nothing was saved."""
        from workstation.core.commands import shape_to_geometry
        from workstation.core.workspace import Area
        from workstation.whatif.scenarios import MAX_NAME_LENGTH

        ws = self.state.workspace
        if self.editor is None or ws is None:
            return None
        kind, _, base = (self.editing_key or "").partition(":")
        if name is None:
            name = ask_name(f"{base} (what-if)" if base else "New scenario")
            if name is None:
                return None
        name = " ".join(name.split())
        if not name:
            return None
        if len(name) > MAX_NAME_LENGTH:
            warn(f"Keep the scenario name to {MAX_NAME_LENGTH} characters.")
            return None
        # names are unique (whatever their case): saving under another scenario's name replaces it, if confirmed
        clash = next((a for a in ws.scenarios if a.name.casefold() == name.casefold()
                      and f"scenario:{a.name}" != self.editing_key), None)
        if clash is not None:
            if not confirm_replace(clash.name):
                return None
            ws.areas = [a for a in ws.areas if a is not clash]
        base_target = base if kind == "target_area" else (ws.area(base, "scenario").base if kind == "scenario"
                                                          and ws.area(base, "scenario") else None)
        ws.put_area(Area(name, "scenario", shape_to_geometry(self.editor.shape), base=base_target,
                         source="what-if editor", notes=f"drawn from {self.editing_key}"))
        self.editing_key = f"scenario:{name}"
        self.editor.area_key = self.editing_key
        self.clear_draft()
        self.editor.stack.clear()
        self.changed.emit()
        self.figures.emit(self.editor.figures, None)
        return name

    def area_renamed(self, old_key: str, new_key: str) -> None:
        """A scenario was renamed (Scenarios menu): keep editing it under its new name."""
        if self.editing_key == old_key:
            self.editing_key = new_key
            if self.editor is not None:
                self.editor.area_key = new_key
                if self.editor.figures is not None:
                    self.figures.emit(self.editor.figures, None)
        self.changed.emit()

    def area_removed(self, key: str, keep_edit: bool = False) -> None:
        """A scenario was deleted. If it was being edited, its unsaved edit stays on the map as a new shape
        (``keep_edit``); otherwise editing stops."""
        if self.editing_key == key:
            if keep_edit and self.editor is not None:
                self.editing_key = "new"
                self.editor.area_key = "new"
                self.store_draft()
                self.figures.emit(self.editor.figures, None)
            else:
                self.stop()
        self.changed.emit()

    # ---- the draft: an unsaved edit kept in the workspace ----
    def store_draft(self) -> None:
        from workstation.core.commands import ring_list
        from workstation.core.workspace import now_stamp

        ws = self.state.workspace
        self.sticky_message = ""
        if ws is None or self.editor is None:
            return
        if self.editing_key != "new" and self.editor.shape == self.official_shape():
            self.clear_draft()
            return
        ws.meta[DRAFT_KEY] = {"area_key": self.editing_key, "shape": ring_list(self.editor.shape),
                              "saved": now_stamp()}
        ws.changed(DRAFT_KEY)

    def clear_draft(self) -> None:
        ws = self.state.workspace
        if ws is not None and DRAFT_KEY in ws.meta:
            del ws.meta[DRAFT_KEY]
            ws.changed(DRAFT_KEY)

    def restore_draft(self) -> bool:
        from workstation.core.commands import freeze_shape

        ws = self.state.workspace
        draft = ws.meta.get(DRAFT_KEY) if ws is not None else None
        if not isinstance(draft, dict) or not draft.get("shape"):
            return False
        if not self.ready():
            self.pending = (None, None, True)
            return False
        key = draft.get("area_key") or "new"
        kind, _, name = key.partition(":")
        if key != "new" and ws.area(name, kind) is None:
            key = "new"
        try:
            shape = freeze_shape(draft["shape"])
        except (TypeError, ValueError):
            return False
        if not self.start(key, shape=shape):
            return False
        self.sticky_message = (f"Restored a boundary edit that was not saved (from "
                               f"{draft.get('saved', 'an earlier session')}). Save it as a scenario, or choose "
                               "'— none —' to discard it.")
        self.figures.emit(self.editor.figures, None)
        return True
