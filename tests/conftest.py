"""Shared test setup: hypothesis profiles and the path to the shared real data.

Profiles: `thorough` (local default, many examples) and `ci` (bounded; chosen when CI=true) so the
whole suite stays within a few minutes on 2 cores. Override with HYPOTHESIS_PROFILE=name.
"""
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:          # models/, datasets/ and benchmarks/ run from the checkout
    sys.path.insert(0, str(ROOT))

settings.register_profile("thorough", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or
                      ("ci" if os.environ.get("CI", "").lower() == "true" else "thorough"))
