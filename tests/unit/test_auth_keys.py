"""`RAG_API_KEYS` entries: names, flags, and the old syntax read exactly as before."""

from __future__ import annotations

import hashlib

import pytest

from rag_service.api.auth import KeyChecker, Principal, parse_key
from rag_service.errors import ConfigurationError


def test_the_old_syntax_reads_as_before() -> None:
    plain = parse_key("admin-key")
    assert plain.key == "admin-key" and plain.collections is None and not plain.read_only
    assert plain.name is None and not plain.admin
    scoped = parse_key("reader-key:team:ro")
    assert (scoped.key, scoped.collections, scoped.read_only) == ("reader-key", frozenset({"team"}), True)
    several = parse_key(" k:a|b ")
    assert several.key == "k" and several.collections == frozenset({"a", "b"}) and not several.read_only
    everywhere_ro = parse_key("k:ro")
    assert everywhere_ro.collections is None and everywhere_ro.read_only
    assert parse_key("k::ro").collections is None and parse_key("k::ro").read_only
    # `admin` right after the key is a collection named admin, as it always was.
    assert parse_key("k:admin").collections == frozenset({"admin"}) and not parse_key("k:admin").admin
    # base64 keys keep their padding: no name is read from them.
    for key in ("c2VjcmV0IGtleQ==", "c2VjcmV0IGtleXM=", "YWJj+/de==", "alice="):
        assert parse_key(f"{key}:team").key == key and parse_key(f"{key}:team").name is None
        assert parse_key(key).key == key


def test_names_and_the_admin_flag() -> None:
    alice = parse_key("alice@example.com=s3cret:team|ops:ro:admin")
    assert alice.name == "alice@example.com" and alice.key == "s3cret"
    assert alice.collections == frozenset({"team", "ops"}) and alice.read_only and alice.admin
    assert alice.actor == "alice@example.com"
    root = parse_key("root=s3cret::admin")
    assert root.collections is None and root.admin and not root.read_only
    assert parse_key("bot=s3cret:team:admin:ro") == parse_key("bot=s3cret:team:ro:admin")


def test_an_unnamed_key_is_a_fingerprint_never_the_key() -> None:
    key = parse_key("sk-very-secret-123:team")
    assert key.actor == "key:" + hashlib.sha256(b"sk-very-secret-123").hexdigest()[:8]
    assert "secret" not in key.actor


def test_mistakes_are_refused_without_quoting_the_key() -> None:
    for entry, reason in (
        ("sk-hidden:team:rw", "unknown flag"),
        ("sk-hidden:team:ro:amdin", "unknown flag"),
        (":team", "key is empty"),
        ("local=sk-hidden", "reserved"),
    ):
        with pytest.raises(ConfigurationError, match=reason) as raised:
            parse_key(entry, 3)
        assert "sk-hidden" not in str(raised.value) and "entry 3" in str(raised.value)


def test_the_principal_carries_the_actor_and_the_admin_flag() -> None:
    checker = KeyChecker([parse_key("alice=a-key::admin"), parse_key("b-key:team:ro")])
    alice = checker.principal("Bearer a-key")
    assert alice.actor == "alice" and alice.admin and alice.collections is None
    anonymous_key = checker.principal("Bearer b-key")
    assert anonymous_key.actor.startswith("key:") and not anonymous_key.admin and anonymous_key.read_only
    assert [k["actor"] for k in checker.describe()] == ["alice", anonymous_key.actor]
    assert "a-key" not in repr(checker.describe())
    # No keys: the local user, who may read the trail.
    local = KeyChecker([]).principal(None)
    assert local == Principal() and local.actor == "local" and local.admin
