"""Co-offending network from the people links: who offends with whom, and who ranks high for the HVT list.

People are nodes; an edge joins two people linked to the same incident, its weight the number of incidents they share
(docs/definitions.md "People"). Incidents are kept when they fall in the chosen area (by the offense / shooting records'
membership, the same rule every count uses) and date window. Every ranked person carries the reasons for the rank:
the measures in words and the incidents behind the edges.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from workstation.core import schema
from workstation.engine.analysis import analysis_for
from workstation.engine.areas import CITYWIDE, resolve_area
from workstation.engine.periods import to_date
from workstation.reports.table import ReportTable

DEFAULT_ROLES = ("arrestee", "suspect")
EXACT_BETWEENNESS_NODES = 2000   # above this many connected people, betweenness is estimated from sampled sources
BETWEENNESS_SAMPLES = 300
SEED = 7
MEASURES = ("degree", "weighted_degree", "betweenness", "eigenvector", "core", "violent_incidents")


# ---- incidents in the area and window ------------------------------------------------------------------------------
def _incident_frame(ws, ids=None) -> pd.DataFrame:
    """One row per incident id of offenses and shootings (only ``ids`` when given): first date, shooting / homicide /
    robbery / violent flags and a short description."""
    off = ws.frames["offenses"]
    sh = ws.frames["shootings"]
    if ids is not None:
        ids = pd.Index(pd.unique(np.asarray(ids, dtype=object)))
        off = off[off["incident_id"].astype("str").isin(ids)]
        sh = sh[sh["incident_id"].astype("str").isin(ids)]
    parts = []
    if len(off):
        cat = off["category"].astype("str")
        parts.append(pd.DataFrame({
            "incident_id": off["incident_id"].astype("str").to_numpy(),
            "occurred": off["occurred"].to_numpy(),
            "district": off["district"].astype("str").to_numpy() if "district" in off else None,
            "shooting": False, "homicide": (cat == "homicide").to_numpy(), "robbery": (cat == "robbery").to_numpy(),
            "violent": cat.isin(schema.PART1_VIOLENT).to_numpy(), "what": cat.str.replace("_", " ").to_numpy()}))
    if len(sh):
        fatal = sh["fatal"].to_numpy(dtype=bool)
        parts.append(pd.DataFrame({
            "incident_id": sh["incident_id"].astype("str").to_numpy(), "occurred": sh["occurred"].to_numpy(),
            "district": sh["district"].astype("str").to_numpy() if "district" in sh else None,
            "shooting": True, "homicide": fatal, "robbery": False, "violent": True,
            "what": np.where(fatal, "fatal shooting", "nonfatal shooting")}))
    if not parts:
        return pd.DataFrame(columns=["occurred", "district", "shooting", "homicide", "robbery", "violent", "what"],
                            index=pd.Index([], name="incident_id"))
    df = pd.concat(parts, ignore_index=True)
    g = df.groupby("incident_id", sort=False)
    out = g[["shooting", "homicide", "robbery", "violent"]].any()
    out["occurred"] = g["occurred"].min()
    out["district"] = g["district"].first()
    what = df[["incident_id", "what"]].dropna().drop_duplicates()
    out["what"] = what.groupby("incident_id", sort=False)["what"].agg(", ".join)
    return out


def _incidents_in_area(ws, area_key: str) -> set | None:
    """Incident ids with a record inside the area (None for citywide: every incident, located or not)."""
    ref = resolve_area(ws, area_key)
    if ref.kind == CITYWIDE:
        return None
    eng = analysis_for(ws)
    ids: set = set()
    for kind in ("offenses", "shootings"):
        df = ws.frames[kind]
        if not len(df):
            continue
        rows = eng.frame_rows(kind, np.flatnonzero(eng.membership_mask(kind, ref)))
        ids.update(df["incident_id"].astype("str").to_numpy()[rows])
    return ids


def network_links(ws, area_key: str = CITYWIDE, since=None, as_of=None, roles=DEFAULT_ROLES) -> pd.DataFrame:
    """The people links the network is built from: incident_id, person_id, role, occurred (the link's date, else the
    incident's), one row per (incident, person). ``since``/``as_of`` bound the dates (inclusive); a link without any
    date is left out when either bound is given."""
    p = ws.frames["people"]
    roles = tuple(roles)
    p = p[p["role"].astype("str").isin(roles)]
    links = pd.DataFrame({"incident_id": p["incident_id"].astype("str").to_numpy(),
                          "person_id": p["person_id"].astype("str").to_numpy(),
                          "role": p["role"].astype("str").to_numpy(),
                          "occurred": p["occurred"].to_numpy()})
    links = links.drop_duplicates(["incident_id", "person_id"]).reset_index(drop=True)
    if links["occurred"].isna().any():
        inc = _incident_frame(ws, links.loc[links["occurred"].isna(), "incident_id"])
        fill = links["incident_id"].map(inc["occurred"])
        links["occurred"] = links["occurred"].fillna(fill)
    inside = _incidents_in_area(ws, area_key)
    if inside is not None:
        links = links[links["incident_id"].isin(inside)]
    if since is not None or as_of is not None:
        day = links["occurred"].dt.normalize()
        keep = day.notna()
        if since is not None:
            keep &= day >= pd.Timestamp(to_date(since))
        if as_of is not None:
            keep &= day <= pd.Timestamp(to_date(as_of))
        links = links[keep]
    return links.reset_index(drop=True)


def co_offending_graph(ws, area_key: str = CITYWIDE, since=None, as_of=None, roles=DEFAULT_ROLES) -> nx.Graph:
    """People linked (in one of ``roles``) to incidents in the area and window; edge weight = shared incidents, edge
    ``incidents`` = their ids; node ``incidents`` = the person's incident ids. Add "victim" to ``roles`` to include
    victims. People with no co-offender are nodes without edges."""
    links = network_links(ws, area_key, since, as_of, roles)
    G = nx.Graph(area_key=area_key, since=since, as_of=as_of, roles=tuple(roles))
    for pid, ids in links.groupby("person_id", sort=True)["incident_id"]:
        G.add_node(pid, incidents=sorted(ids))
    pairs = links.merge(links, on="incident_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["person_id_a"] < pairs["person_id_b"]]
    for (a, b), ids in pairs.groupby(["person_id_a", "person_id_b"], sort=True)["incident_id"]:
        shared = sorted(ids)
        G.add_edge(a, b, weight=len(shared), incidents=shared)
    return G


# ---- measures ------------------------------------------------------------------------------------------------------
def network_measures(G: nx.Graph) -> pd.DataFrame:
    """Per person (index person_id): degree (co-offenders), weighted_degree (shared incident links), betweenness
    (normalised over the whole graph, hops), eigenvector, core (k-core number), component_size. The methods used are
    in ``df.attrs["notes"]``."""
    notes: list[str] = []
    nodes = sorted(G.nodes)
    df = pd.DataFrame(index=pd.Index(nodes, name="person_id", dtype="str"))
    if not nodes:
        for c in ("degree", "weighted_degree", "betweenness", "eigenvector", "core", "component_size"):
            df[c] = pd.Series(dtype="float64" if c in ("betweenness", "eigenvector") else "int64")
        df.attrs["notes"] = notes
        return df
    df["degree"] = [G.degree(n) for n in nodes]
    df["weighted_degree"] = [G.degree(n, weight="weight") for n in nodes]
    comp_size = {}
    components = list(nx.connected_components(G))
    for comp in components:
        for n in comp:
            comp_size[n] = len(comp)
    df["component_size"] = [comp_size[n] for n in nodes]
    df["core"] = pd.Series(nx.core_number(G)).reindex(nodes).to_numpy()
    df["betweenness"] = _betweenness(G, components, notes).reindex(nodes).fillna(0.0).to_numpy()
    df["eigenvector"] = _eigenvector(G, components, notes).reindex(nodes).fillna(0.0).to_numpy()
    df.attrs["notes"] = notes
    return df


def _betweenness(G: nx.Graph, components, notes: list[str]) -> pd.Series:
    # Only people in components of 3 or more can lie between two others; the rest score 0. Computing on that part
    # and normalising by the whole graph's pair count gives exactly the whole graph's normalised betweenness.
    keep = [n for comp in components if len(comp) >= 3 for n in comp]
    n_all = G.number_of_nodes()
    if not keep or n_all < 3:
        return pd.Series(dtype="float64")
    H = G.subgraph(keep).copy()  # a subgraph view filters every neighbour lookup: ~5x slower paths
    raw = _exact_betweenness_fast(H)
    if raw is not None:
        notes.append("Betweenness is exact (every shortest path between two connected people, counted in hops).")
    elif H.number_of_nodes() > EXACT_BETWEENNESS_NODES:
        k = min(BETWEENNESS_SAMPLES, H.number_of_nodes())
        raw = nx.betweenness_centrality(H, k=k, normalized=False, seed=SEED)
        notes.append(f"Betweenness is estimated from {k:,d} sampled source people (seed {SEED}) because "
                     f"{H.number_of_nodes():,d} people have co-offenders in groups of three or more; exact above "
                     f"{EXACT_BETWEENNESS_NODES:,d} would take too long. Ranks near the top are stable; "
                     "small differences are not meaningful.")
    else:
        raw = nx.betweenness_centrality(H, normalized=False)
        notes.append("Betweenness is exact (every shortest path between two connected people, counted in hops).")
    scale = 2.0 / ((n_all - 1) * (n_all - 2))
    return pd.Series(raw, dtype="float64") * scale


def _exact_betweenness_fast(H: nx.Graph) -> dict | None:
    """Exact unnormalised betweenness from rustworkx (compiled, parallel: ~1.5 s for 6,000 people where networkx
    needs ~5 s for a 300-source estimate); None when rustworkx is not installed."""
    try:
        import rustworkx as rx
    except ImportError:
        return None
    nodes = list(H.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    g = rx.PyGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from_no_data([(pos[a], pos[b]) for a, b in H.edges])
    b = rx.graph_betweenness_centrality(g, normalized=False)
    return {nodes[i]: float(v) for i, v in b.items()}


def _eigenvector(G: nx.Graph, components, notes: list[str]) -> pd.Series:
    # Eigenvector centrality of a disconnected graph lives only in the component with the largest eigenvalue, so
    # every other group would score 0. It is computed within each component (weighted by shared incidents), scaled
    # so the component's most central person scores its leading eigenvalue relative to the largest in the graph:
    # the hub of a big, dense crew outranks the hub of a pair.
    values: dict = {}
    lambdas: dict = {}
    fallback = 0
    for i, comp in enumerate(components):
        if len(comp) < 2:
            continue
        H = G.subgraph(comp).copy()
        nodes = list(H.nodes)
        if len(comp) <= 400:
            a = nx.to_numpy_array(H, nodelist=nodes, weight="weight")
            w, v = np.linalg.eigh(a)
            lam, vec = float(w[-1]), np.abs(v[:, -1])
        else:
            try:
                x = nx.eigenvector_centrality_numpy(H, weight="weight", max_iter=2000, tol=1e-8)
                vec = np.array([x[n] for n in nodes])
                a = nx.to_scipy_sparse_array(H, nodelist=nodes, weight="weight")
                lam = float(vec @ (a @ vec) / (vec @ vec))
            except (nx.NetworkXException, ArithmeticError, ValueError):
                fallback += 1
                vec = np.array([H.degree(n, weight="weight") for n in nodes], dtype="float64")
                lam = float(vec.max())
        top = vec.max()
        vec = vec / top if top > 0 else vec
        lambdas[i] = lam
        values[i] = dict(zip(nodes, vec))
    if not values:
        return pd.Series(dtype="float64")
    lam_max = max(lambdas.values())
    out = {n: x * lambdas[i] / lam_max for i, d in values.items() for n, x in d.items()}
    notes.append("Eigenvector centrality is computed within each group of connected people (weighted by shared "
                 "incidents); the most central person of a group scores the group's leading eigenvalue relative to "
                 "the largest group's (1.0), so hubs of large dense groups rank above hubs of pairs.")
    if fallback:
        notes.append(f"Eigenvector centrality did not converge for {fallback} group(s); weighted degree, scaled the "
                     "same way, stands in for them.")
    return pd.Series(out, dtype="float64")


# ---- the ranked candidates ------------------------------------------------------------------------------------------
def candidates(ws, area_key: str = CITYWIDE, since=None, as_of=None, roles=DEFAULT_ROLES, top: int = 25,
               G: nx.Graph | None = None) -> ReportTable:
    """People ranked for the high-value-target list, with the reasons in words. Only people with at least one
    co-offender are ranked. The drill-through key of each row (``cell_keys[(row, 0)]``) names the person and the
    incidents behind their edges."""
    if G is None:
        G = co_offending_graph(ws, area_key, since, as_of, roles)
    m = network_measures(G)
    node_links = pd.DataFrame([(p, i) for p, d in G.nodes(data="incidents") for i in d],
                              columns=["person_id", "incident_id"])
    inc = _incident_frame(ws, node_links["incident_id"])
    flags = {"shooting": "shootings", "homicide": "homicides", "robbery": "robberies", "violent": "violent_incidents"}
    hit = inc.reindex(node_links["incident_id"].to_numpy())[list(flags)].fillna(False).astype(bool)
    hit["other_violent"] = hit["violent"] & ~hit["shooting"] & ~hit["homicide"] & ~hit["robbery"]
    flags["other_violent"] = "other_violent"
    hit.index = node_links["person_id"].to_numpy()
    per = hit.groupby(level=0).sum().rename(columns=flags)
    for c in flags.values():
        m[c] = per[c].reindex(m.index).fillna(0).astype(int).to_numpy() if len(per) else 0
    m["incidents"] = [len(G.nodes[p]["incidents"]) for p in m.index]
    linked = m[m["degree"] > 0].copy()
    n = len(linked)
    if n:
        pct = pd.DataFrame({c: linked[c].rank(pct=True, method="average") for c in MEASURES})
        linked["score"] = pct.mean(axis=1)
        linked["betweenness_rank"] = linked["betweenness"].rank(ascending=False, method="min").astype(int)
        linked = linked.sort_values(["score", "violent_incidents", "degree"], ascending=False, kind="stable")
    shown = linked.head(top)
    title = f"Co-offending network: top {len(shown)} candidates ({resolve_area(ws, area_key).label})"
    cols = ["Rank", "Person", "Score", "Co-offenders", "Shared links", "Incidents", "Violent", "Shootings",
            "Homicides", "Robberies", "k-core", "Group size", "Betweenness rank", "Eigenvector", "Why"]
    kinds = ["count", "text", "rate", "count", "count", "count", "count", "count", "count", "count", "count",
             "count", "count", "rate", "text"]
    rows, keys = [], {}
    for i, (pid, r) in enumerate(shown.iterrows()):
        rows.append([i + 1, pid, float(r["score"]), int(r["degree"]), int(r["weighted_degree"]), int(r["incidents"]),
                     int(r["violent_incidents"]), int(r["shootings"]), int(r["homicides"]), int(r["robberies"]),
                     int(r["core"]), int(r["component_size"]), int(r["betweenness_rank"]), float(r["eigenvector"]),
                     why(r, n)])
        edge_ids = sorted({x for _a, _b, d in G.edges(pid, data=True) for x in d["incidents"]})
        keys[(i, 0)] = {"person_id": pid, "incidents": edge_ids}
    notes = [
        "People are linked when both are on the same incident as "
        + " or ".join(G.graph.get("roles", roles)) + "; a link's weight is the number of incidents they share.",
        "Score: the average of each person's percentile rank (among the "
        f"{n:,d} people with at least one co-offender) on co-offenders, shared links, betweenness, eigenvector "
        "centrality, k-core number and violent incidents (shootings, homicides, robberies, rapes and aggravated "
        "assaults they are linked to). Ties share the average rank.",
        *m.attrs.get("notes", []),
    ]
    return ReportTable(title, cols, kinds, rows, notes=notes, cell_keys=keys)


def _plural(k: int, word: str, plural: str | None = None) -> str:
    return f"{k:,d} {word if k == 1 else (plural or word + 's')}"


def why(r, ranked: int) -> str:
    """The reasons for one person's rank in words, from a row of the candidates' measures."""
    parts = []
    counts = (("shootings", "shooting", None), ("homicides", "homicide", None), ("robberies", "robbery", "robberies"))
    linked = [_plural(int(r[c]), w, pl) for c, w, pl in counts if int(r[c])]
    if int(r["other_violent"]):
        linked.append(_plural(int(r["other_violent"]), "other violent incident"))
    if linked:
        parts.append("linked to " + ", ".join(linked))
    parts.append(_plural(int(r["degree"]), "co-offender") + (
        f" over {_plural(int(r['weighted_degree']), 'shared link')}" if r["weighted_degree"] > r["degree"] else ""))
    parts.append(f"in the {int(r['core'])}-core")
    if r["betweenness"] > 0:
        parts.append(f"betweenness rank {int(r['betweenness_rank']):,d} of {ranked:,d}")
    else:
        parts.append("no broker role (betweenness 0)")
    parts.append(f"group of {int(r['component_size']):,d}")
    return "; ".join(parts)


def co_offenders(G: nx.Graph, person_id: str) -> pd.DataFrame:
    """The person's co-offenders: person_id, shared (incidents), incident_ids (comma-separated), most shared first."""
    rows = [(o, d["weight"], ", ".join(d["incidents"])) for o, d in
            ((o, G.edges[person_id, o]) for o in G.neighbors(person_id))] if person_id in G else []
    df = pd.DataFrame(rows, columns=["person_id", "shared", "incident_ids"])
    return df.sort_values(["shared", "person_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def person_incidents(ws, person_id: str, area_key: str = CITYWIDE, since=None, as_of=None,
                     roles=DEFAULT_ROLES) -> pd.DataFrame:
    """The incidents behind a person's place in the network (same area, window and roles): incident_id, occurred,
    role, what, district, co_offenders (the others in the network on the same incident)."""
    links = network_links(ws, area_key, since, as_of, roles)
    mine = links[links["person_id"] == person_id]
    others = links[links["incident_id"].isin(mine["incident_id"]) & (links["person_id"] != person_id)]
    with_ = others.groupby("incident_id")["person_id"].agg(lambda s: ", ".join(sorted(s)))
    inc = _incident_frame(ws, mine["incident_id"]).reindex(mine["incident_id"].to_numpy())
    out = pd.DataFrame({
        "incident_id": mine["incident_id"].to_numpy(), "occurred": mine["occurred"].to_numpy(),
        "role": mine["role"].to_numpy(), "what": inc["what"].to_numpy(), "district": inc["district"].to_numpy(),
        "co_offenders": mine["incident_id"].map(with_).fillna("").to_numpy()})
    return out.sort_values(["occurred", "incident_id"], kind="stable").reset_index(drop=True)


__all__ = ["co_offending_graph", "network_links", "network_measures", "candidates", "co_offenders",
           "person_incidents", "why", "DEFAULT_ROLES"]
