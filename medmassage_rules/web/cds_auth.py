"""The CDS Hooks service's settings, its bearer-token check and its feedback log.

CDS Hooks 2.0: the EHR signs a JWT (RS384 or ES384) for every call, with ``iss``, ``aud``
(the service's URL), ``exp``, ``iat`` and ``jti``. With ``--cds-jwks FILE`` (a JSON Web Key
Set kept on this machine; the service never fetches keys over the network, and a ``jku`` in
a token is ignored) every request must carry such a token signed by one of the file's keys,
unexpired, for this service's path, and not seen before (its ``jti`` is remembered until it
expires: a replayed token is refused). Without it no token is checked: the server is then for a
trusted network behind the EHR's TLS proxy only (README).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import MedMassageError

ALGORITHMS = ("RS384", "ES384")  # what CDS Hooks 2.0 requires clients to sign with
LEEWAY_SECONDS = 30
MAX_REMEMBERED_CARDS = 10_000     # cards whose rules the feedback log can still name


def default_feedback_log() -> Path:
    """``$XDG_DATA_HOME/medmassage/cds-feedback.jsonl`` (``~/.local/share/...`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "medmassage" / "cds-feedback.jsonl"


class TokenRefused(MedMassageError):
    """A request without a valid bearer token (a 401 answer)."""


class KeySet:
    """The keys of a JWKS file, read once at start; tokens are checked against them."""

    def __init__(self, path: Path):
        try:
            import jwt
        except ImportError:
            raise MedMassageError("--cds-jwks needs the optional extra: pip install 'medmassage-rules[cds]'") from None
        try:
            self.keys = jwt.PyJWKSet.from_json(path.read_text(encoding="utf-8")).keys
        except OSError as exc:
            raise MedMassageError(f"{path}: cannot read the key set: {exc.strerror or exc}") from None
        except Exception as exc:  # PyJWT's errors for a file that is not a usable JWKS
            raise MedMassageError(f"{path}: not a JSON Web Key Set: {exc}") from None
        self.jwt = jwt
        self.seen: dict[str, float] = {}  # jti -> exp of the tokens accepted, until they expire
        self.lock = threading.Lock()

    def check(self, authorization: str | None, path: str) -> dict[str, Any]:
        """The claims of the request's token; raises TokenRefused with a reason that names no secret."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRefused("a bearer token is required")
        try:
            header = self.jwt.get_unverified_header(token.strip())
        except self.jwt.PyJWTError:
            raise TokenRefused("the bearer token is not a JWT") from None
        keys = [k for k in self.keys if header.get("kid") in (None, k.key_id)]
        for key in keys:
            try:
                claims = self.jwt.decode(token.strip(), key.key, algorithms=list(ALGORITHMS), leeway=LEEWAY_SECONDS,
                                         options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_aud": False})
            except self.jwt.InvalidSignatureError:
                continue
            except self.jwt.PyJWTError as exc:
                raise TokenRefused(f"the bearer token is refused: {exc}") from None
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            allowed = {path.rstrip("/"), path.rstrip("/").removesuffix("/feedback")}  # feedback: the service's aud
            if not any(urlparse(str(a)).path.rstrip("/") in allowed for a in audiences):
                raise TokenRefused("the bearer token is for another service (aud)")
            self._once(str(claims["jti"]), float(claims["exp"]))
            return dict(claims)
        raise TokenRefused("the bearer token is not signed by a key of the key set")

    def _once(self, jti: str, expires: float) -> None:
        """Refuse a token whose ``jti`` was accepted before (a replay); forget those that have expired."""
        now = time.time()
        with self.lock:
            for old in [k for k, exp in self.seen.items() if exp + LEEWAY_SECONDS < now]:
                del self.seen[old]
            if jti in self.seen:
                raise TokenRefused("the bearer token was used before (jti)")
            self.seen[jti] = expires


@dataclass(frozen=True)
class CdsSettings:
    """What ``serve`` passes to the service: the feedback log and the key set file (None: no token check)."""

    feedback_log: Path | None = None
    jwks: Path | None = None


class FeedbackLog:
    """Feedback appended as JSON Lines, with the rules of each card the service still remembers."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.cards: OrderedDict[str, tuple[str, str, tuple[str, ...]]] = OrderedDict()  # uuid -> service, kind, rules

    def remember(self, card_uuid: str, service: str, indicator: str, rules: tuple[str, ...]) -> None:
        with self.lock:
            self.cards[card_uuid] = (service, indicator, rules)
            while len(self.cards) > MAX_REMEMBERED_CARDS:
                self.cards.popitem(last=False)

    def append(self, service: str, entries: list[dict[str, Any]]) -> int:
        """Log one line per feedback entry; only what the standard puts in feedback, and the card's rules."""
        lines = []
        with self.lock:
            for entry in entries:
                known = self.cards.get(str(entry.get("card")))
                line = {"service": service, "card": entry.get("card"), "outcome": entry.get("outcome"),
                        "outcomeTimestamp": entry.get("outcomeTimestamp"),
                        "acceptedSuggestions": [s.get("id") for s in entry.get("acceptedSuggestions") or []
                                                if isinstance(s, dict)],
                        "overrideReason": _reason(entry.get("overrideReason")),
                        "indicator": known[1] if known else None, "rules": list(known[2]) if known else None}
                lines.append(json.dumps(line, ensure_ascii=False))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in lines))
        return len(lines)


def _reason(value: Any) -> dict[str, Any] | None:
    """An override reason's coding (its code, system, display); the user's free-text comment is not kept."""
    if not isinstance(value, dict) or not isinstance(value.get("reason"), dict):
        return None
    reason = value["reason"]
    return {k: reason.get(k) for k in ("system", "code", "display") if isinstance(reason.get(k), str)}
