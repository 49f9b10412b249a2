"""The ground segment's HTTP + WebSocket API (FastAPI): see app.py and docs/ground.md."""

from groundsw.api.app import create_app

__all__ = ["create_app"]
