"""Stubs generated from proto/pulse.proto by scripts/generate_stubs.py. Do not edit."""
