"""``medmassage serve``: the local web application for therapists (needs the ``[web]`` extra)."""

from __future__ import annotations

import logging
import socket
import webbrowser
from pathlib import Path

import click

from ..errors import MedMassageError
from .console import knowledge_base, rules_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but localhost makes the server reachable from the network: "
                   "it then asks for an access token (printed with the address).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the intake form in the default browser.")
@click.option("--cds-feedback-log", "cds_feedback_log", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The CDS Hooks feedback log (JSON Lines, appended) [default: "
                                 "$XDG_DATA_HOME/medmassage/cds-feedback.jsonl].")
@click.option("--cds-jwks", "cds_jwks", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A JSON Web Key Set file of the EHR's public keys: every CDS Hooks call must then carry a bearer "
                   "JWT signed by one of them (keys are never fetched over the network).")
@rules_option
def serve(host: str, port: int, open_browser: bool, rules_dir: Path | None, cds_feedback_log: Path | None = None,
          cds_jwks: Path | None = None) -> None:
    """Serve the intake form, plan pages, body chart and SOAP-note draft on this computer.

    The same validation, planner and explanations as the other commands, in a browser:
    fill in or upload a case (YAML, JSON or, with the [fhir] extra, a FHIR bundle), read the
    plan with every why and why-not, print it, edit and download the SOAP note. Plans are
    held in memory for an hour, never written to disk. POST /api/plan answers the plan JSON
    of `recommend --format json`. Under /cds-services an HL7 CDS Hooks 2.0 service
    answers an EHR (docs/ehr.md; behind the EHR's TLS). Stop it with Ctrl-C. Needs: pip install 'medmassage-rules[web]'.

    \b
    Example:
      medmassage serve --open
    """
    try:
        import uvicorn

        from ..web import create_app
        from ..web.security import is_local, new_token
    except ImportError as exc:
        raise MedMassageError(f"serve needs the optional extra: pip install 'medmassage-rules[web]' "
                              f"({exc.name} is missing)") from None
    token = None
    if not is_local(host):
        token = new_token()
        click.echo(f"warning: serving on {host}, reachable from other computers; every request needs the "
                   "access token in the address below. Patient data crosses the network unencrypted unless "
                   "a TLS proxy is in front.", err=True)
    app = create_app(knowledge_base(rules_dir), host=host, token=token)
    from ..web.cds_auth import CdsSettings, KeySet
    if cds_jwks is not None:
        KeySet(cds_jwks)  # a key file that cannot be used stops the server before it starts
    app.state.cds = CdsSettings(feedback_log=cds_feedback_log, jwks=cds_jwks)  # the CDS Hooks service (docs/ehr.md)
    shown_host = f"[{host}]" if ":" in host else host
    address = f"http://{shown_host}:{port}/" + (f"?token={token}" if token else "")
    # the server's own log only (method, path, status, time); the engine's loggers would print case facts
    web_log = logging.getLogger("medmassage.web")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    web_log.addHandler(handler)
    web_log.setLevel(logging.INFO)
    web_log.propagate = False
    config = uvicorn.Config(app, host=host, port=port, access_log=False, server_header=False,
                            log_level="warning", timeout_keep_alive=5, limit_concurrency=64)
    server = uvicorn.Server(config)
    listening = _listen(host, port)  # bound before the address is printed: a port in use is one error line
    click.echo(f"medmassage: serving on {address} (Ctrl-C stops)", err=True)
    if open_browser:
        webbrowser.open(address)
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, or the error that says why it cannot."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        raise MedMassageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
