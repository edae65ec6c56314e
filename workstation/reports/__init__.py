"""Reports: pure functions of (workspace, area, as-of date) that return ReportTables.

- compstat: ``compstat_grid``, ``grid_tables`` (also for what-if counts), ``records_behind`` (drill-through)
- history: ``part1_history`` (the case study's Table 1)
- districts: ``district_table(s)``, ``target_area_table(s)`` (the "PSP Areas" tables)
- rates: ``rates_table(s)``, ``peer_comparison``, ``clearance_table``
- goals: ``Goal``, ``goal_progress``, ``goal_table``
- concentration: ``concentration_table``, ``concentration_curve``
- activity: ``activity_partners``, ``partner_contributions``
- trends: ``trend_series`` (a DataFrame for charts)
- rules: ``pct_change``, ``round_half_away``, ``whole_percent``, ``poisson_z``, ``exact_p``, ``flag_strength``, ``change_flag``
The counting engine behind them is ``workstation.engine.analysis``; the measures are ``workstation.engine.measures``.
"""
from workstation.reports.table import COLUMN_KINDS, ReportTable

__all__ = ["ReportTable", "COLUMN_KINDS"]
