"""Importers of other engines' decision formats (GoRules JDM)."""
