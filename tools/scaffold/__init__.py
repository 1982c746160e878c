"""``make new-service``: a new service from the one skeleton (:mod:`tools.scaffold.generate`)."""

from __future__ import annotations

from tools.scaffold.generate import ScaffoldError, Spec, scaffold

__all__ = ["ScaffoldError", "Spec", "scaffold"]
