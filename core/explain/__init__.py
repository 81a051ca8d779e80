"""Explain wing: SHAP values per reading and overall, and a sentence a person can read.

May import: ``core.detect`` and what it may import.
"""
