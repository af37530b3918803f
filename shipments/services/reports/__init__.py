"""Reports for officials: volumes, program progress, delivery quality, network.

Modules: common (filters, periods, the raw-row key), rollups (fold, rebuild,
reconcile), volumes, progress, quality (with late perishables), network,
labels, dashboard. Callers import from this package.

Definitions (pinned by tests/test_reports_definitions.py):

- Periods are Beijing (Asia/Shanghai) calendar days of registration; weeks
  start on Monday; seasons are the meteorological ones (spring Mar–May,
  summer Jun–Aug, autumn Sep–Nov, winter Dec–Feb, named by the month they
  start: the winter from December 2025 is the bucket 2025-12-01).
- A shipment's place is its origin division, else the division of its local
  station (the destination station for 进村 inbound parcels, the origin
  station otherwise). County = the first six digits of that GB/T 2260 code;
  township = the nine-digit code when it is a township.
- Volume counts every registered shipment whatever its status, except
  cancelled registrations (the rollup triggers skip them the same way).
- Program progress ("done", 完成) counts only parcels the carrier has
  taken: status not pending, info_received, cancelled, returning or
  returned (rollups report_progress_days/_months; the drill-down behind it
  passes taken=1, so its total is the figure).

Volumes come from the rollup tables (models/reports.py) plus the deltas not
yet folded, so they are exact at any moment; `*_raw` functions recount the
same figures from the shipments rows (reconcile, tests and bench compare).
"""
from shipments.services.reports.common import (  # noqa: F401
    _FILTER_COLUMNS, BEIJING, COARSE_GROUPINGS, GROUPINGS, PERIODS, PICKUP_HOURS, ReportError, ReportFilters,
    _as_date, _hours, _is_pg, _percent, _period_expr, _raw_keys, _raw_select, _raw_where, _yuan, beijing_today,
    day_start, filters_for, matching_shipments, period_start,
)
from shipments.services.reports.rollups import (  # noqa: F401
    FOLD_LOCK_KEY, GRAINS, Difference, _rollup_union, rebuild_progress, rebuild_rollups, reconcile, refresh_rollups,
    split_period,
)
from shipments.services.reports.volumes import (  # noqa: F401
    VolumeReport, VolumeRow, _grain, volume_report, volume_report_from, volume_report_raw,
)
from shipments.services.reports.quality import (  # noqa: F401
    QualityRow, late_perishables, percentile_cont, quality_report, quality_report_raw,
)
from shipments.services.reports.labels import (  # noqa: F401
    NO_PROGRAM, UNKNOWN, describe_filters, dimension_labels, label_quality, label_report,
)
from shipments.services.reports.progress import (  # noqa: F401
    SHORTFALL_RATIO, Progress, Shortfall, county_progress, program_progress, programs_progress, prorate,
    season_window,
    township_shares,
)
from shipments.services.reports.network import SILENT_DAYS, NetworkReport, network_report  # noqa: F401
from shipments.services.reports.dashboard import dashboard_figures  # noqa: F401
