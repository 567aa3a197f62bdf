"""Getting data out: one spreadsheet writer (CSV and XLSX, safe against formula injection)
and the exportable lists behind ``kyogyo export``. A plain package: no models."""
