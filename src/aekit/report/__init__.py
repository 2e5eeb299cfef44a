"""Self-contained HTML reports: one run (every figure that applies, the metrics table), or several
runs compared side by side.

    from aekit.report import build_report, compare_runs
    build_report("runs/mnist5k-mlp-32-...")            # -> runs/.../report.html and figures/*.png
    compare_runs(["runs/a", "runs/b"], "compare.html")
"""

from aekit.report.compare import compare_runs
from aekit.report.run_report import Report, build_report, expected_figures, figure_titles, load_run_analysis

__all__ = ["build_report", "compare_runs", "expected_figures", "figure_titles", "load_run_analysis", "Report"]
