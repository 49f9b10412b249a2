"""Tests for the onboard app cores (functional cores, no sockets)."""
