"""Reusable widgets: form fields, progress, system panel, report tables, image previews."""
