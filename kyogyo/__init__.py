"""Kyogyo (共業): one customer record and one measured journey for The Model."""

__version__ = "0.1.0"
