"""The Qt-free undo stack and the boundary-edit command."""
import pytest
import shapely

from workstation.core.commands import (
    BoundaryEdit, Command, CommandStack, describe_edit, freeze_shape, shape_from_geometry, shape_to_geometry,
    shapes_equal,
)


class Append(Command):
    def __init__(self, log, value):
        self.log, self.value, self.label = log, value, f"append {value}"

    def do(self):
        self.log.append(self.value)

    def undo(self):
        assert self.log.pop() == self.value


def test_push_undo_redo_and_labels():
    log, events = [], []
    st = CommandStack()
    st.subscribe(lambda: events.append((st.can_undo, st.can_redo)))
    assert (st.undo_label, st.redo_label) == ("Undo", "Redo")
    st.push(Append(log, 1))
    st.push(Append(log, 2))
    assert log == [1, 2] and st.undo_label == "Undo append 2"
    st.undo()
    assert log == [1] and st.undo_label == "Undo append 1" and st.redo_label == "Redo append 2"
    st.redo()
    assert log == [1, 2] and not st.can_redo
    st.undo()
    st.undo()
    assert log == [] and not st.can_undo and st.undo() is None
    assert events == [(True, False), (True, False), (True, True), (True, False), (True, True), (False, True)]


def test_new_command_clears_redo_and_record_does_not_run_it():
    log = []
    st = CommandStack()
    st.push(Append(log, 1))
    st.undo()
    assert st.can_redo
    log.append(7)                       # the caller already made this change (a finished drag)
    st.record(Append(log, 7))
    assert log == [7] and not st.can_redo
    st.undo()
    assert log == []


def test_cap_drops_the_oldest():
    log = []
    st = CommandStack(limit=3)
    for i in range(5):
        st.push(Append(log, i))
    assert len(st) == 3
    while st.undo():
        pass
    assert log == [0, 1]                # the two oldest can no longer be undone


def test_push_during_undo_is_refused():
    st = CommandStack()

    class Echo(Command):
        label = "echo"

        def do(self):
            pass

        def undo(self):
            st.push(Append([], 0))      # a view echoing the change it was given

    st.push(Echo())
    with pytest.raises(RuntimeError):
        st.undo()
    assert st.can_undo and not st.applying   # a failed undo leaves the command where it was


SQUARE = [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]]


def test_boundary_edit_is_immutable_and_applies_before_after():
    shown = []
    before = freeze_shape([SQUARE])
    after = freeze_shape([[[(0, 0), (2, 0), (1, 1), (0, 1)]]])
    cmd = BoundaryEdit(apply=shown.append, before=before, after=after, label=describe_edit(before, after))
    assert cmd.label == "move vertex"
    with pytest.raises(Exception):
        cmd.before = after
    st = CommandStack()
    st.push(cmd)
    st.undo()
    st.redo()
    assert shown == [after, before, after]
    assert before[0][0] == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))   # closing vertex dropped


def test_describe_edit_kinds():
    sq = freeze_shape([SQUARE])
    assert describe_edit(sq, freeze_shape([[[(0, 0), (0.5, -0.1), (1, 0), (1, 1), (0, 1)]]])) == "add vertex"
    assert describe_edit(sq, freeze_shape([[[(0, 0), (1, 0), (1, 1)]]])) == "delete vertex"
    moved = freeze_shape([[[(x + 0.25, y - 0.5) for x, y in SQUARE[0]]]])
    assert describe_edit(sq, moved) == "move shape"


def test_shape_round_trip_with_hole_and_multipolygon():
    outer = [(0, 0), (10, 0), (10, 10), (0, 10)]
    hole = [(2, 2), (4, 2), (4, 4), (2, 4)]
    poly = shapely.Polygon(outer, holes=[hole])
    multi = shapely.MultiPolygon([poly, shapely.box(20, 20, 21, 21)])
    for g in (poly, multi):
        s = shape_from_geometry(g)
        back = shape_to_geometry(s)
        assert back.equals(g) and back.area == g.area
    assert len(shape_from_geometry(multi)) == 2 and len(shape_from_geometry(poly)[0]) == 2
    assert shapes_equal([[outer + [outer[0]], hole]], shape_from_geometry(poly))
