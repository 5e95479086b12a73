"""What signed-in people may do: provider groups mapped to collections and roles (`access_grants`).

A person's rights are worked out from the groups their last sign-in carried and the grants as they are now, on
every request: an admin's change applies at once, and removing someone from a group at the provider applies at
their next sign-in. Sign-in reads grants and never writes them, so nothing an admin set here is wiped by it.

Roles, each including the one before: `read` (search, ask, keep their own conversations), `write` (upload,
sync, delete documents), `admin` (delete the collection; on `*`, also the audit trail and these grants).
The groups in RAG_OIDC_ADMIN_GROUPS are admins on every collection, so a new server has someone to grant the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rag_service.db.models import AccessGrant, Person, as_utc
from rag_service.errors import InvalidInputError, NotFoundError

ROLES = ("read", "write", "admin")
EVERY = "*"
COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FROM_SETTINGS = "RAG_OIDC_ADMIN_GROUPS"


@dataclass(frozen=True)
class Rule:
    """One reason for a right: `group` gives `role` on `collection`; `source` is a grant id or the setting."""

    group: str
    collection: str
    role: str
    source: int | str

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "collection": self.collection, "role": self.role, "source": self.source}


@dataclass(frozen=True)
class Rights:
    """A person's effective rights: the strongest role per collection, `*` standing for every collection."""

    roles: dict[str, str]
    reasons: tuple[Rule, ...]

    def role_on(self, collection: str) -> str | None:
        named, every = self.roles.get(collection), self.roles.get(EVERY)
        if named is None or every is None:
            return named or every
        return max(named, every, key=ROLES.index)

    def collections_with(self, role: str) -> frozenset[str] | None:
        """The collections where the person has at least `role`; None: every collection."""
        least = ROLES.index(role)
        if EVERY in self.roles and ROLES.index(self.roles[EVERY]) >= least:
            return None
        return frozenset(c for c, r in self.roles.items() if c != EVERY and ROLES.index(r) >= least)

    @property
    def admin(self) -> bool:
        return self.roles.get(EVERY) == "admin"


def _stronger(a: str | None, b: str) -> str:
    return b if a is None or ROLES.index(b) > ROLES.index(a) else a


def rules(session: Session, admin_groups: frozenset[str]) -> list[Rule]:
    """Every rule in force: the setting's admin groups first, then the grants, by group and collection."""
    found = [Rule(group, EVERY, "admin", FROM_SETTINGS) for group in sorted(admin_groups)]
    grants = session.scalars(select(AccessGrant).order_by(AccessGrant.group_name, AccessGrant.collection))
    found += [Rule(g.group_name, g.collection, g.role, g.id) for g in grants]
    return found


def rights_for(groups: list[str] | tuple[str, ...], all_rules: list[Rule]) -> Rights:
    member = set(groups)
    roles: dict[str, str] = {}
    reasons = []
    for rule in all_rules:
        if rule.group in member:
            roles[rule.collection] = _stronger(roles.get(rule.collection), rule.role)
            reasons.append(rule)
    return Rights(roles=roles, reasons=tuple(reasons))


def list_grants(session: Session) -> list[dict[str, object]]:
    grants = session.scalars(select(AccessGrant).order_by(AccessGrant.group_name, AccessGrant.collection))
    return [
        {
            "id": g.id,
            "group": g.group_name,
            "collection": g.collection,
            "role": g.role,
            "created_by": g.created_by,
            "created_at": as_utc(g.created_at),
        }
        for g in grants
    ]


def set_grant(session: Session, group: str, collection: str, role: str, actor: str) -> dict[str, object]:
    """Give `group` `role` on `collection` (`*`: every one), replacing that group's role there. A collection that
    does not exist yet may be named: the grant applies once it is created."""
    group = group.strip()
    if not group or len(group) > 200:
        raise InvalidInputError("a group name is 1 to 200 characters, as the provider's groups claim spells it")
    if collection != EVERY and not COLLECTION_NAME.fullmatch(collection):
        raise InvalidInputError(f"{collection!r} is not a collection name (or * for every collection)")
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    grant = session.scalar(
        select(AccessGrant).where(AccessGrant.group_name == group, AccessGrant.collection == collection)
    )
    if grant is None:
        grant = AccessGrant(group_name=group, collection=collection, role=role, created_by=actor)
        session.add(grant)
    else:
        grant.role, grant.created_by = role, actor
    session.commit()
    return next(g for g in list_grants(session) if g["id"] == grant.id)


def delete_grant(session: Session, grant_id: int) -> dict[str, object]:
    grant = session.get(AccessGrant, grant_id)
    if grant is None:
        raise NotFoundError(f"no access grant {grant_id}")
    removed = {"id": grant.id, "group": grant.group_name, "collection": grant.collection, "role": grant.role}
    session.delete(grant)
    session.commit()
    return removed


def explain(session: Session, admin_groups: frozenset[str]) -> list[dict[str, object]]:
    """Everyone who has signed in, with what their groups give them and why: the admin's view of the mapping's
    effect ("alice@example.com gets team-ops: write from group ops")."""
    all_rules = rules(session, admin_groups)
    people = []
    for person in session.scalars(select(Person).order_by(Person.email, Person.id)):
        rights = rights_for(person.groups, all_rules)
        people.append(
            {
                "id": person.id,
                "email": person.email,
                "name": person.name,
                "groups": person.groups,
                "last_sign_in": as_utc(person.last_sign_in),
                "admin": rights.admin,
                "rights": [
                    {
                        "collection": collection,
                        "role": role,
                        "from": [r.to_dict() for r in rights.reasons if r.collection == collection],
                    }
                    for collection, role in sorted(rights.roles.items())
                ],
            }
        )
    return people
