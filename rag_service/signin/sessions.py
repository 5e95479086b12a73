"""Sign-ins on their way and browser sessions, as rows (several API replicas share them through the database).

- `begin`: a random state, nonce and PKCE verifier; the state's hash is kept with the others, and the browser is
  sent to the provider.
- `finish`: the callback's state must name a row that is then deleted (a state is good once, and for
  ATTEMPT_MINUTES), the code is exchanged and the ID token checked (`provider.py`), the person is recorded with
  the groups this sign-in carried, and a session is made.
- A session's cookie holds a random token; the row is keyed by its SHA-256 and holds a CSRF token that every
  state-changing request made with the cookie must send back (`X-CSRF-Token`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rag_service.db.models import Person, SignInAttempt, WebSession, as_utc, utcnow
from rag_service.errors import InvalidInputError
from rag_service.signin.provider import Identity, Provider

ATTEMPT_MINUTES = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A live session: the person, and the CSRF token their state-changing requests must carry."""

    person_id: int
    email: str
    name: str
    groups: tuple[str, ...]
    csrf_token: str

    @property
    def actor(self) -> str:
        """Who they are in the audit trail: their e-mail address, else their name at the provider."""
        return self.email or self.name or f"person:{self.person_id}"


def safe_return_path(value: str | None) -> str:
    """Only a path on this server: `//evil.example` or `https://...` would make sign-in an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def begin(session: Session, provider: Provider, redirect_uri: str, return_to: str | None) -> str:
    """The provider's authorization URL for a new sign-in."""
    cutoff = utcnow() - timedelta(minutes=ATTEMPT_MINUTES)
    session.execute(delete(SignInAttempt).where(SignInAttempt.created_at < cutoff))
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    url = provider.authorization_url(redirect_uri, state=state, nonce=nonce, code_verifier=verifier)
    session.add(
        SignInAttempt(
            state_hash=_hash(state),
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            return_to=safe_return_path(return_to),
        )
    )
    session.commit()
    return url


def claim_attempt(session: Session, state: str) -> SignInAttempt:
    """The attempt a callback's state names, deleted as it is taken: a replayed or stale state is refused."""
    attempt = session.get(SignInAttempt, _hash(state)) if state else None
    if attempt is None:
        raise InvalidInputError("this sign-in link was already used or is unknown: sign in again")
    session.delete(attempt)
    session.commit()  # before the code is exchanged: a replay is refused even while this one is under way
    if as_utc(attempt.created_at) < utcnow() - timedelta(minutes=ATTEMPT_MINUTES):
        raise InvalidInputError(f"this sign-in took longer than {ATTEMPT_MINUTES} minutes: sign in again")
    return attempt


def remember(session: Session, identity: Identity) -> Person:
    """The person as this sign-in describes them: their groups are replaced by the ones it carried."""
    person = session.scalar(select(Person).where(Person.issuer == identity.issuer, Person.subject == identity.subject))
    if person is None:
        person = Person(issuer=identity.issuer, subject=identity.subject)
        session.add(person)
    person.email, person.name, person.groups = identity.email, identity.name, list(identity.groups)
    person.last_sign_in = utcnow()
    session.commit()
    return person


def start_session(session: Session, person: Person, id_token: str, hours: float) -> tuple[str, SignedIn]:
    """A new session for `person`: the cookie's token (shown once, here) and what it stands for."""
    session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_hash(token),
            person_id=person.id,
            csrf_token=csrf,
            id_token=id_token,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    session.commit()
    return token, _signed_in(person, csrf)


def _signed_in(person: Person, csrf: str) -> SignedIn:
    return SignedIn(person.id, person.email, person.name, tuple(person.groups), csrf)


def find(session: Session, token: str) -> SignedIn | None:
    """The live session a cookie's token names, or None (unknown, signed out or expired)."""
    row = session.get(WebSession, _hash(token)) if token else None
    if row is None or as_utc(row.expires_at) <= utcnow():
        return None
    person = session.get(Person, row.person_id)
    return _signed_in(person, row.csrf_token) if person is not None else None


def end(session: Session, token: str) -> str:
    """Sign out: the session's row is deleted. Returns its ID token (for the provider's logout), or ''."""
    row = session.get(WebSession, _hash(token)) if token else None
    if row is None:
        return ""
    id_token = row.id_token
    session.delete(row)
    session.commit()
    return id_token
