"""Generators of the sections of reports/references.yaml that are read from authors' result files."""
