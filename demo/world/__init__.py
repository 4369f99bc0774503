"""The replay world: fictional outlets served on 127.0.0.1 for tests, the demo and benchmarks."""

from .config import render_outlets_config, write_config
from .server import DEFAULT_BASE_PORT, ReplayWorld, RequestRecord

__all__ = ["DEFAULT_BASE_PORT", "ReplayWorld", "RequestRecord", "render_outlets_config", "write_config"]
