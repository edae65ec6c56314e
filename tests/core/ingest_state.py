"""'The workspace is unchanged': every frame, the import log, the rejects, the areas and the metadata."""
import copy

import pandas as pd


def state(ws):
    return ({k: df.copy() for k, df in ws.frames.items()}, copy.deepcopy(ws.import_log), sorted(ws.rejects),
            [a.to_row() for a in ws.areas], copy.deepcopy(ws.meta))


def assert_unchanged(ws, before):
    frames, log, rejects, areas, meta = before
    assert ws.frames.keys() == frames.keys()
    for k in frames:
        pd.testing.assert_frame_equal(ws.frames[k], frames[k])
    assert ws.import_log == log and sorted(ws.rejects) == rejects
    assert [a.to_row() for a in ws.areas] == areas and ws.meta == meta
