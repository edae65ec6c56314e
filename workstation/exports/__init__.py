"""Exports: the CompStat workbook (openpyxl) and its command line."""
