"""The web stage: ``medmassage serve``, a local web application for therapists.

It reuses the library - the same validation, planner, explanations and renderers - and adds
no clinical logic of its own. Needs the optional ``[web]`` extra (FastAPI, uvicorn, Jinja2).
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
