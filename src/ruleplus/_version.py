"""The version of ruleplus, in a module of its own so that any module can read it without
importing the package's root."""

__version__ = "0.1.0"
