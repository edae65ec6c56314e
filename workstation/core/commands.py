"""Undo/redo for edits, without Qt: commands that know how to do and undo themselves, and a capped stack of them.

The UI captures the boundary "before" when a drag starts, only previews while it moves, and pushes one
``BoundaryEdit`` when the drag ends (one undo step per drag). Listeners subscribe with plain callbacks; ``ui/``
re-emits them as Qt signals and sets the text of its Undo/Redo actions from ``undo_label``/``redo_label``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

Point = tuple[float, float]
Ring = tuple[Point, ...]          # open ring: the first vertex is not repeated at the end
Part = tuple[Ring, ...]           # exterior ring, then holes
Shape = tuple[Part, ...]          # one or more polygons


class Command:
    """One undoable change. ``do`` applies it (also when redone); ``undo`` restores the state before it."""

    label = "Edit"

    def do(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        raise NotImplementedError


class CommandStack:
    """A capped undo/redo history.

    ``push(cmd)`` runs ``cmd.do()`` and records it; ``record(cmd)`` records a change that the caller has already made
    (a drag that the map applied as it happened). A new command clears the redo side. While an undo or redo runs,
    ``applying`` is True so that echoes of the change (e.g. a view reporting the shape it was just given) are not
    recorded as new edits.
    """

    def __init__(self, limit: int = 100) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._listeners: list[Callable[[], None]] = []
        self.applying = False

    # ---- listeners ----
    def subscribe(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _changed(self) -> None:
        for cb in list(self._listeners):
            cb()

    # ---- state ----
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return f"Undo {self._undo[-1].label}" if self._undo else "Undo"

    @property
    def redo_label(self) -> str:
        return f"Redo {self._redo[-1].label}" if self._redo else "Redo"

    def __len__(self) -> int:
        return len(self._undo)

    @property
    def undo_items(self) -> list[Command]:
        return list(self._undo)

    @property
    def redo_items(self) -> list[Command]:
        return list(self._redo)

    # ---- changes ----
    def push(self, command: Command) -> None:
        self._guard()
        self.applying = True
        try:
            command.do()
        finally:
            self.applying = False
        self._add(command)

    def record(self, command: Command) -> None:
        self._guard()
        self._add(command)

    def _add(self, command: Command) -> None:
        self._undo.append(command)
        if len(self._undo) > self.limit:
            del self._undo[: len(self._undo) - self.limit]
        self._redo.clear()
        self._changed()

    def _guard(self) -> None:
        if self.applying:
            raise RuntimeError("A command was pushed while an undo/redo was being applied; ignore echoes of "
                               "applied changes (check CommandStack.applying).")

    def undo(self) -> Command | None:
        if not self._undo or self.applying:
            return None
        cmd = self._undo.pop()
        self.applying = True
        try:
            cmd.undo()
        except BaseException:
            self._undo.append(cmd)
            raise
        finally:
            self.applying = False
        self._redo.append(cmd)
        self._changed()
        return cmd

    def redo(self) -> Command | None:
        if not self._redo or self.applying:
            return None
        cmd = self._redo.pop()
        self.applying = True
        try:
            cmd.do()
        except BaseException:
            self._redo.append(cmd)
            raise
        finally:
            self.applying = False
        self._undo.append(cmd)
        self._changed()
        return cmd

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._changed()


# ---------------------------------------------------------------------------------------------------------------------
def freeze_shape(shape) -> Shape:
    """An immutable copy of a shape given as nested lists ([[ring, hole...], ...] of (lon, lat)) or a shapely polygon.

    A closing vertex equal to the first is dropped, so rings compare equal however they were written.
    """
    if hasattr(shape, "geom_type"):
        return shape_from_geometry(shape)
    parts = []
    for part in shape:
        rings = []
        for ring in part:
            pts = tuple((float(x), float(y)) for x, y in ring)
            if len(pts) > 1 and pts[0] == pts[-1]:
                pts = pts[:-1]
            rings.append(pts)
        parts.append(tuple(rings))
    return tuple(parts)


def shape_from_geometry(geom) -> Shape:
    if geom.geom_type == "Polygon":
        polys = [geom]
    elif geom.geom_type == "MultiPolygon":
        polys = list(geom.geoms)
    else:
        raise ValueError(f"a {geom.geom_type} is not a polygon")
    return freeze_shape([[list(p.exterior.coords)] + [list(r.coords) for r in p.interiors] for p in polys])


def shape_to_geometry(shape: Shape):
    import shapely

    polys = [shapely.Polygon(part[0], holes=list(part[1:]) or None) for part in shape]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def shape_vertex_count(shape: Shape) -> int:
    return sum(len(r) for part in shape for r in part)


@dataclass(frozen=True)
class BoundaryEdit(Command):
    """A change of one area's boundary from ``before`` to ``after`` (both immutable shapes).

    ``apply`` is called with the shape to show (``after`` on do/redo, ``before`` on undo); it updates whatever holds
    the boundary (the what-if engine, the map, the scenario being drawn).
    """

    apply: Callable[[Shape], None] = field(compare=False, repr=False)
    before: Shape
    after: Shape
    label: str = "boundary edit"
    area_key: str = ""

    def do(self) -> None:
        self.apply(self.after)

    def undo(self) -> None:
        self.apply(self.before)


def describe_edit(before: Shape, after: Shape) -> str:
    """Words for the Undo menu: what kind of change turned ``before`` into ``after``."""
    nb, na = shape_vertex_count(before), shape_vertex_count(after)
    if na > nb:
        return "add vertex"
    if na < nb:
        return "delete vertex"
    changed = sum(1 for pb, pa in zip(before, after) for rb, ra in zip(pb, pa) for a, b in zip(rb, ra) if a != b)
    if changed == 1:
        return "move vertex"
    if changed > 1 and _is_translation(before, after):
        return "move shape"
    return "boundary edit"


def _is_translation(before: Shape, after: Shape) -> bool:
    deltas = {(round(b[0] - a[0], 9), round(b[1] - a[1], 9))
              for pb, pa in zip(before, after) for rb, ra in zip(pb, pa) for a, b in zip(rb, ra)}
    return len(deltas) == 1


def ring_list(shape: Shape) -> list:
    """The shape as nested lists (JSON-ready), [[[[lon, lat], ...], hole...], ...]."""
    return [[[list(p) for p in ring] for ring in part] for part in shape]


def shapes_equal(a: Sequence, b: Sequence) -> bool:
    return freeze_shape(a) == freeze_shape(b)
