"""Co-offending network on a hand-built people dataset with a known graph (tests/core/network_data.py)."""
import pandas as pd
import pytest
from network_data import network_workspace

from workstation.reports import network as N


@pytest.fixture(scope="module")
def ws():
    return network_workspace()


def test_edges_and_weights_are_shared_incidents(ws):
    G = N.co_offending_graph(ws)
    assert sorted(G.nodes) == ["A", "B", "C", "D", "E", "F", "G", "L", "P", "X"]   # victim V left out
    edges = {tuple(sorted(e)): (d["weight"], d["incidents"]) for *e, d in G.edges(data=True)}
    assert edges == {("A", "B"): (2, ["I1", "I2"]), ("A", "C"): (1, ["I1"]), ("B", "C"): (1, ["I1"]),
                     ("C", "X"): (1, ["I4"]), ("D", "X"): (1, ["I5"]), ("D", "E"): (1, ["I3"]),
                     ("D", "F"): (1, ["I3"]), ("E", "F"): (2, ["I3", "I8"]), ("G", "P"): (1, ["I6"])}


def test_measures_of_the_known_graph(ws):
    m = N.network_measures(N.co_offending_graph(ws))
    assert m["degree"].to_dict() == {"A": 2, "B": 2, "C": 3, "D": 3, "E": 2, "F": 2, "G": 1, "L": 0, "P": 1, "X": 2}
    assert m["weighted_degree"].to_dict() == {"A": 3, "B": 3, "C": 3, "D": 3, "E": 3, "F": 3, "G": 1, "L": 0,
                                              "P": 1, "X": 2}
    # normalised over all 10 people: 36 pairs not counting the person; X lies on all 9 paths between the triangles
    assert m["betweenness"].idxmax() == "X"
    assert m.loc["X", "betweenness"] == pytest.approx(9 / 36)
    assert m.loc["C", "betweenness"] == pytest.approx(8 / 36) == m.loc["D", "betweenness"]
    assert (m.loc[["A", "B", "E", "F", "G", "P", "L"], "betweenness"] == 0).all()
    assert m["core"].to_dict() == {"A": 2, "B": 2, "C": 2, "D": 2, "E": 2, "F": 2, "X": 2, "G": 1, "P": 1, "L": 0}
    assert m["component_size"].to_dict() == {"A": 7, "B": 7, "C": 7, "D": 7, "E": 7, "F": 7, "X": 7, "G": 2,
                                             "P": 2, "L": 1}
    # eigenvector within each group: the big group's top scores 1, the pair scores its eigenvalue (1) over the
    # big group's, the loner 0
    ev = m["eigenvector"]
    assert ev.max() == pytest.approx(1.0)
    assert ev["G"] == pytest.approx(ev["P"]) and 0 < ev["G"] < 0.5
    assert ev["L"] == 0
    assert ev["X"] < ev["C"]
    assert any("exact" in n for n in m.attrs["notes"]) and any("each group" in n for n in m.attrs["notes"])


def test_victims_are_optional(ws):
    G = N.co_offending_graph(ws, roles=("arrestee", "suspect", "victim"))
    assert sorted(G.neighbors("V")) == ["A", "B", "C"]
    assert G.edges["A", "V"]["incidents"] == ["I1"]


def test_area_filter_leaves_out_the_incident_outside(ws):
    G = N.co_offending_graph(ws, "target_area:West Side")
    assert G.edges["E", "F"]["weight"] == 1 and G.edges["E", "F"]["incidents"] == ["I3"]
    assert N.person_incidents(ws, "E", "target_area:West Side")["incident_id"].tolist() == ["I3"]
    assert N.person_incidents(ws, "E")["incident_id"].tolist() == ["I3", "I8"]


def test_date_window(ws):
    G = N.co_offending_graph(ws, since="2019-01-01", as_of="2019-05-31")
    assert G.edges["A", "B"]["incidents"] == ["I1"]          # I2 (2018) before the window
    assert "G" not in G and "L" not in G                      # June incidents after it
    assert G.edges["D", "X"]["incidents"] == ["I5"]          # undated link takes its incident's date
    G = N.co_offending_graph(ws, as_of="2019-05-19")
    assert "X" in G and not G.has_edge("D", "X")


def test_candidates_table_and_why(ws):
    rt = N.candidates(ws)
    df = rt.to_frame()
    assert df["Person"].tolist()[:2] == ["C", "D"]           # both brokers of the group with violent incidents
    assert sorted(df["Person"]) == ["A", "B", "C", "D", "E", "F", "G", "P", "X"]   # L has no co-offender
    assert df["Rank"].tolist() == list(range(1, 10))
    x = rt.row(6)
    assert x[1] == "X"
    assert x[-1] == ("linked to 1 shooting, 1 homicide, 1 robbery; 2 co-offenders; in the 2-core; "
                     "betweenness rank 1 of 9; group of 7")
    assert rt.row(1)[-1] == ("linked to 1 shooting, 1 homicide, 1 other violent incident; 3 co-offenders; "
                             "in the 2-core; betweenness rank 2 of 9; group of 7")
    a = df.set_index("Person").loc["A"]
    assert a["Why"].startswith("linked to 1 robbery, 1 other violent incident; 2 co-offenders over 3 shared links")
    assert (a["Violent"], a["Robberies"], a["Shootings"]) == (2, 1, 0)
    assert rt.cell_keys[(5, 0)] == {"person_id": "X", "incidents": ["I4", "I5"]}
    assert N.candidates(ws, top=3).to_frame()["Person"].tolist() == df["Person"].tolist()[:3]


def test_person_incidents_and_co_offenders(ws):
    pi = N.person_incidents(ws, "C")
    assert pi["incident_id"].tolist() == ["I1", "I4"]
    assert pi["co_offenders"].tolist() == ["A, B", "X"]
    assert pi["what"].tolist() == ["aggravated assault", "homicide, fatal shooting"]
    assert pi.loc[1, "role"] == "suspect"
    co = N.co_offenders(N.co_offending_graph(ws), "A")
    assert co.to_dict("list") == {"person_id": ["B", "C"], "shared": [2, 1], "incident_ids": ["I1, I2", "I1"]}


def test_empty_people(ws):
    from workstation.core.workspace import Workspace

    empty = Workspace()
    G = N.co_offending_graph(empty)
    assert G.number_of_nodes() == 0
    assert N.network_measures(G).empty
    rt = N.candidates(empty)
    assert rt.rows == []


def test_demo_has_crews(demo_ws):
    since = pd.Timestamp(demo_ws.as_of()) - pd.Timedelta(days=364)
    rt = N.candidates(demo_ws, since=since, as_of=demo_ws.as_of())
    df = rt.to_frame()
    assert len(df) == 25
    # the top of the list are people with several co-offenders, in a group bigger than a pair
    assert (df["Co-offenders"].head(10) >= 3).all()
    assert (df["Group size"].head(10) > 2).all()
    assert df["Score"].is_monotonic_decreasing
