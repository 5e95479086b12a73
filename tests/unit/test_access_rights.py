"""A person's rights from their groups (rag_service/access.py): the strongest role per collection, `*` for every
collection, the admin groups from settings, and the rule behind each right."""

from __future__ import annotations

from rag_service.access import FROM_SETTINGS, Rule, rights_for
from rag_service.api.auth import ForbiddenError, Principal

RULES = [
    Rule("platform", "*", "admin", FROM_SETTINGS),
    Rule("eng", "*", "read", 1),
    Rule("eng", "team-eng", "write", 2),
    Rule("ops", "team-ops", "write", 3),
    Rule("ops-leads", "team-ops", "admin", 4),
]


def test_the_strongest_role_wins_and_star_covers_every_collection() -> None:
    rights = rights_for(["eng", "ops"], RULES)
    assert rights.role_on("team-eng") == "write"
    assert rights.role_on("team-ops") == "write"
    assert rights.role_on("finance") == "read"  # eng reads everything
    assert rights.collections_with("read") is None
    assert rights.collections_with("write") == {"team-eng", "team-ops"}
    assert rights.collections_with("admin") == frozenset()
    assert not rights.admin
    assert [r.source for r in rights.reasons] == [1, 2, 3]


def test_no_matching_group_gives_nothing_and_admin_groups_give_everything() -> None:
    nothing = rights_for(["sales"], RULES)
    assert nothing.roles == {} and nothing.collections_with("read") == frozenset()
    admin = rights_for(["platform"], RULES)
    assert admin.admin and admin.collections_with("admin") is None
    assert admin.reasons[0].source == FROM_SETTINGS


def test_a_persons_principal_writes_only_where_a_group_gives_write() -> None:
    rights = rights_for(["ops", "ops-leads"], RULES)
    person = Principal(
        collections=rights.collections_with("read"),
        writable=rights.collections_with("write"),
        managed=rights.collections_with("admin"),
        admin=rights.admin,
        actor="alice@example.com",
        person_id=7,
    )
    person.require("team-ops", write=True)
    person.require_manage("team-ops")
    person.require_create("team-ops")  # a granted collection not created yet
    for refused in (lambda: person.require_create("other"), person.require_admin):
        try:
            refused()
        except ForbiddenError:
            continue
        raise AssertionError("should have been refused")
    reader = Principal(collections=frozenset({"team-ops"}), writable=frozenset(), managed=frozenset(), person_id=8)
    try:
        reader.require("team-ops", write=True)
    except ForbiddenError as exc:
        assert "write access" in str(exc)
    else:
        raise AssertionError("a reader wrote")
