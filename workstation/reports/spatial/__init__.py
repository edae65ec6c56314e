"""Spatial analysis (Qt-free): kernel density, Getis-Ord Gi* and emerging hot spots, the Knox near-repeat test and
this week's near-repeat risk, and the weighted displacement quotient.

- events: ``local_crs``, ``EventSet``, ``select_events`` (the CompStat engine's records, projected to feet)
- grid: ``Grid`` (square cells in the local CRS; study mask; lon/lat cell polygons)
- kde: ``default_bandwidth_ft``, ``kernel_density``
- hotspots: ``gi_star``, ``gi_bins``, ``hotspot_analysis`` (``HotSpotResult``), ``emerging_hotspots``
- near_repeat: ``knox_test`` (``KnoxResult``), ``near_repeat_analysis``, ``near_repeat_risk``
- displacement: ``displacement`` (``DisplacementResult``)
Every long function takes ``progress(fraction)`` and ``cancelled()``; a cancel raises ``AnalysisCancelled``.
"""
