"""Thin adapters from the UI to workstation/ functions (one place that follows their signatures)."""
from __future__ import annotations

GROUP_LABELS = {"citywide": "", "district": "Districts", "target_area": "Target areas", "scenario": "Scenarios"}


def area_choices(ws) -> list[tuple[str, str]]:
    from workstation.engine.areas import area_choices as choices

    return choices(ws)


def area_groups(ws) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group heading, [(area key, label), ...]), ...] in the order the area bar lists them."""
    groups: dict[str, list[tuple[str, str]]] = {k: [] for k in GROUP_LABELS}
    for key, label in area_choices(ws):
        kind = key.split(":", 1)[0] if ":" in key else "citywide"
        groups.setdefault(kind, []).append((key, label))
    return [(GROUP_LABELS.get(k, k), v) for k, v in groups.items() if v]


def area_label(ws, key: str) -> str:
    for k, label in area_choices(ws):
        if k == key:
            return label
    return key.split(":", 1)[-1]
