"""Computing the report's tables, one module per group of sections; see :func:`classifier.report.build_report`."""
