"""Membership (docs/membership.md) with real renkeid nodes on loopback: endorsements published on
founding members replicate, and every node computes the same roster and digest from them
(GET /v1/members, the roster part of GET /v1/status).

What a broken roster would get wrong: a key admitted by one endorsement, a different digest on a
node that holds the same records, a membership record that changes nothing moving the digest, or an
endorsement that replaces another key's."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import run_tests, wait_until  # noqa: E402


def endorse(node, key, name, prefecture="41", urls=None):
    body = {"kind": "endorse", "endorse": {"key": key, "name": name, "node_kind": "region", "prefecture": prefecture}}
    if urls:
        body["endorse"]["urls"] = urls
    r = node.request("POST", "/v1/records", body)
    assert r.status == 201, r
    return r.json()


def members(node):
    r = node.get("/v1/members")
    assert r.status == 200, r
    return r.json()


def entry(node, key):
    for m in members(node)["members"]:
        if m["key"] == key:
            return m
    return None


def test_endorsements_admit_on_every_node():
    tmp = tempfile.mkdtemp(prefix="rk-members-")
    _, d_key = cl.keypair(tmp, "d")
    c = cl.line(["a", "b", "c"], sync_interval=2)
    try:
        c.start()
        a, b, cc = c["a"], c["b"], c["c"]
        cl.wait_connected(c.running())
        nodes = [a, b, cc]
        before = {n.name: cl.status(n)["roster"] for n in nodes}
        assert all(s["members"] == 3 and s["threshold"] == 2 for s in before.values()), before
        assert len({s["digest"] for s in before.values()}) == 1, before

        rec = endorse(a, d_key, "佐賀県", urls=["tcp://127.0.0.1:9"])
        assert rec["id"].endswith(":endorse." + d_key[:48]), rec
        cl.wait_record(nodes, rec["id"], rec["version"], timeout=20)
        for n in nodes:
            e = entry(n, d_key)
            assert e and e["status"] == "pending", (n.name, e)
            assert e["endorsers"] == [a.key], e
            assert cl.status(n)["roster"]["members"] == 3
        # one endorsement is below the threshold, and it still moves the digest (the roster changed)
        pending = cl.status(a)["roster"]["digest"]
        assert pending != before["a"]["digest"]

        # the second endorsement through the command line
        p = b.cli("--json", "member", "endorse", "--key", d_key, "--name", "佐賀県", "--kind", "region",
                  "--prefecture", "41", "--url", "tcp://127.0.0.1:9")
        rec2 = __import__("json").loads(p.stdout)
        cl.wait_record(nodes, rec2["id"], rec2["version"], timeout=20)
        rosters = []
        for n in nodes:
            e = entry(n, d_key)
            assert e["status"] == "admitted", (n.name, e)
            assert sorted(e["endorsers"]) == sorted([a.key, b.key]), e
            assert e["name"] == "佐賀県" and e["prefecture"] == "41" and e["kind"] == "region", e
            assert e["urls"] == ["tcp://127.0.0.1:9"], e
            assert e["since"] == rec2["version"], (e, rec2)
            rosters.append(cl.status(n)["roster"])
        assert all(r["members"] == 4 for r in rosters), rosters
        assert len({r["digest"] for r in rosters}) == 1, rosters
        assert all(m["digest"] == rosters[0]["digest"] for m in map(members, nodes))
        # the founding members are listed as such, the node itself marked
        mine = [m for m in members(a)["members"] if m["self"]]
        assert len(mine) == 1 and mine[0]["key"] == a.key and mine[0]["status"] == "founding", mine

        # the metrics count keys by status
        for n in nodes:
            assert cl.metric_sum(n, "renkei_members", status="admitted") == 1, n.name
            assert cl.metric_sum(n, "renkei_members", status="founding") == 3, n.name
            assert cl.metric_sum(n, "renkei_members", status="pending") == 0, n.name
        # renkei members prints the roster as a table, in Japanese when LANG is Japanese
        out = cc.cli("members").stdout.decode()
        assert "佐賀県" in out and "admitted" in out and d_key[:16] in out, out
        p = __import__("subprocess").run([os.environ.get("RENKEI", "renkei"), "-s", cc.socket, "members"],
                                         capture_output=True, env=dict(os.environ, LANG="ja_JP.UTF-8"), timeout=60)
        assert p.returncode == 0 and "承認済み" in p.stdout.decode() and "創設" in p.stdout.decode(), p
        # usage mistakes exit 2 without publishing
        bad = b.cli("member", "endorse", "--key", "abc", "--name", "x", check=False)
        assert bad.returncode == 2, bad

        # a node's endorsement of itself is stored but changes nothing
        admitted = rosters[0]["digest"]
        selfie = endorse(cc, cc.key, "c")
        cl.wait_record(nodes, selfie["id"], selfie["version"], timeout=20)
        assert all(cl.status(n)["roster"]["digest"] == admitted for n in nodes)
    finally:
        c.stop()


def test_membership_records_are_public_and_keyed():
    tmp = tempfile.mkdtemp(prefix="rk-members-")
    _, d_key = cl.keypair(tmp, "d")
    c = cl.Cluster(["a"], [])
    try:
        c.start()
        a = c["a"]
        # network visibility is refused: a joining node could not learn the roster
        r = a.request("POST", "/v1/records", {"kind": "endorse", "visibility": "network",
                                              "endorse": {"key": d_key, "name": "佐賀県"}})
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_value", r
        # the rid is the key's, not the publisher's choice
        r = a.request("POST", "/v1/records", {"kind": "endorse", "rid": "saga", "endorse": {"key": d_key, "name": "x"}})
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_rid", r
        # and no case may take it, nor may a delete withdraw an endorsement
        r = a.request("POST", "/v1/records", {"kind": "case", "rid": "endorse." + d_key[:48],
                                              "case": {"title": "t", "summary": "s", "prefecture": "41",
                                                       "industry": "manufacturing", "dx_level": "efficiency"}})
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_rid", r
        rec = endorse(a, d_key, "佐賀県")
        r = a.request("DELETE", "/v1/records/" + rec["id"])
        assert r.status == 400, r
        assert entry(a, d_key)["status"] == "pending"
        # one endorsement per endorser and key: a second POST is a conflict, a PUT replaces the description
        r = a.request("POST", "/v1/records", {"kind": "endorse", "endorse": {"key": d_key, "name": "佐賀県庁"}})
        assert r.status == 409, r
        r = a.request("PUT", "/v1/records/" + rec["id"], {"kind": "endorse", "endorse": {
            "key": d_key, "name": "佐賀県庁", "urls": ["tcp://127.0.0.1:7"]}})
        assert r.status in (200, 201), r
        e = entry(a, d_key)
        assert e["name"] == "佐賀県庁" and e["urls"] == ["tcp://127.0.0.1:7"] and e["endorsers"] == [a.key], e
        # one revocation of a pending key is recorded; with a since it must be a valid time
        assert a.cli("member", "revoke", "--key", d_key, "--since", "yesterday", check=False).returncode == 2
        a.cli("member", "revoke", "--key", d_key, "--reason", "テスト", "--since", "2026-01-01T00:00:00+09:00")
        e = entry(a, d_key)
        assert e["status"] == "pending" and e["revokers"] == [a.key], e
    finally:
        c.stop()


if __name__ == "__main__":
    run_tests(globals())
