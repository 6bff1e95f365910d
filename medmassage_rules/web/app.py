"""The FastAPI application of ``medmassage serve``: :func:`create_app` builds it."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    """The web application: intake form, plan pages, the plan API."""
    app = FastAPI(title="medmassage", docs_url=None, redoc_url=None, openapi_url=None)
    return app
