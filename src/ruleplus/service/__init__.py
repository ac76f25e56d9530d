"""The decision service (FastAPI): partners, decisions, management, operations."""

from __future__ import annotations

from ruleplus.service.app import create_app
from ruleplus.service.state import ServiceConfig, ServiceState

__all__ = ["ServiceConfig", "ServiceState", "create_app"]
