"""PDF reports and saved figures, written atomically.

:mod:`~initlab.report.pages` builds the text pages, :mod:`~initlab.report.sim` the report of a
simulation, :mod:`~initlab.report.labs` the reports of training runs and comparisons.
"""

from .pages import summary_pages, theory_page, title_page
from .sim import (
    THEORY_TABLE_COLUMNS, Exported, count_pdf_pages, default_theory_table, export, report_date, save_figures,
    save_figures_and_report, write_report,
)

__all__ = [
    "save_figures", "save_figures_and_report", "write_report", "title_page", "summary_pages", "theory_page",
    "default_theory_table", "count_pdf_pages", "THEORY_TABLE_COLUMNS", "export", "Exported", "report_date",
]
