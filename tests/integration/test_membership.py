"""Membership (docs/membership.md) with real renkeid nodes on loopback: endorsements published on
founding members replicate, and every node computes the same roster and digest from them
(GET /v1/members, the roster part of GET /v1/status).

What a broken roster would get wrong: a key admitted by one endorsement, a different digest on a
node that holds the same records, a membership record that changes nothing moving the digest, or an
endorsement that replaces another key's."""

import csv
import datetime
import hashlib
import io
import os
import subprocess
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import RENKEI, Node, run_tests, sample_case, wait_until  # noqa: E402

KIND_ENDORSE, KIND_ROTATE, KIND_REVOKE = 5, 6, 7
VISIBILITY_PUBLIC = 1


def seal(key_file, author, kind, body_field, body, subject, version=None, created=None):
    """A SignedRecord made here, signed with key_file, as a node of author's would publish it:
    membership records live at the rid derived from their subject."""
    version = version or int(time.time() * 1000)
    prefix = {KIND_ENDORSE: "endorse.", KIND_ROTATE: "rotate.", KIND_REVOKE: "revoke."}[kind]
    rec = (cl.pb_bytes(1, bytes.fromhex(author)) + cl.pb_bytes(2, (prefix + subject[:48]).encode()) +
           cl.pb_uint(3, version) + cl.pb_uint(4, kind) + cl.pb_uint(5, VISIBILITY_PUBLIC) + cl.pb_uint(6, created or version) +
           cl.pb_bytes(body_field, body))
    return cl.pb_bytes(1, rec) + cl.pb_bytes(2, cl.sign_with(key_file, b"renkei-record-v1\0" + rec))


def endorse_env(key_file, author, subject, name, version=None):
    body = cl.pb_bytes(1, bytes.fromhex(subject)) + cl.pb_bytes(2, name.encode())
    return seal(key_file, author, KIND_ENDORSE, 14, body, subject, version)


def rotate_env(old_file, old, new_file, new, version=None, countersignature=None, created=None):
    if countersignature is None:
        countersignature = cl.sign_with(new_file, b"renkei-rotate-v1\0" + bytes.fromhex(old) + bytes.fromhex(new))
    body = cl.pb_bytes(1, bytes.fromhex(new)) + cl.pb_bytes(2, countersignature)
    return seal(old_file, old, KIND_ROTATE, 15, body, new, version, created)


def revoke_env(key_file, author, subject, version=None, since=0):
    body = cl.pb_bytes(1, bytes.fromhex(subject)) + cl.pb_bytes(2, "テスト".encode())
    if since:
        body += cl.pb_uint(3, since)
    return seal(key_file, author, KIND_REVOKE, 16, body, subject, version)


def record_hash(envelope):
    return hashlib.sha256(cl.pb_parse(envelope)[1][0]).digest()


def equivocating_rotation(old_file, old, new_file, new, first, version):
    """A second rotation of old with the first one's version that sorts after it (a larger hash), so
    the first stays the rotation and this one is the equivocation: found by varying created_at until
    the hash falls above."""
    for i in range(64):
        env = rotate_env(old_file, old, new_file, new, version=version, created=version - 1 - i)
        if record_hash(env) > record_hash(first):
            return env
    raise AssertionError("no rotation hashing above the first")


def push(node, envelopes, tmp):
    """Pushes envelopes to node's peer port over a connection of a key nobody knows."""
    key_file, pub = cl.keypair(tmp, "pusher-%d" % int(time.time() * 1e6))
    with cl.RawPeer(node.port) as p:
        p.handshake(key_file, pub)
        p.push(envelopes)


def endorse(node, key, name, prefecture="41", urls=None):
    body = {"kind": "endorse", "endorse": {"key": key, "name": name, "node_kind": "region", "prefecture": prefecture}}
    if urls:
        body["endorse"]["urls"] = urls
    r = node.request("POST", "/v1/records", body)
    assert r.status == 201, r
    return r.json()


members = cl.members
entry = cl.member_entry


def test_endorsements_admit_on_every_node():
    tmp = cl.temp_dir()
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

        # a node's endorsement of itself is refused by its own ingest, counted, and changes nothing
        admitted = rosters[0]["digest"]
        r = cc.request("POST", "/v1/records", {"kind": "endorse", "endorse": {"key": cc.key, "name": "c"}})
        assert r.status == 400 and r.json()["error"]["code"] == "self_endorsement", r
        assert cl.metric_sum(cc, "renkei_rejections_total", reason="self_endorsement") == 1
        assert all(cl.status(n)["roster"]["digest"] == admitted for n in nodes)
    finally:
        c.stop()


def test_membership_records_are_public_and_keyed():
    tmp = cl.temp_dir()
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
        # lists without a kind and the exports hold cases, events and region profiles only, whichever
        # list drives the walk (every record, an author's, a full-text term's)
        case = sample_case()
        case["case"]["title"] = "佐賀県庁との連携事例"
        r = a.request("POST", "/v1/records", case)
        assert r.status == 201, r
        for path in ["/v1/records", "/v1/records?author=" + a.key, "/v1/records?q=" + quote("佐賀県庁")]:
            got = a.request("GET", path).json()["records"]
            assert [x["kind"] for x in got] == ["case"], (path, got)
        kinds = [row["kind"] for row in csv.DictReader(io.StringIO(a.request("GET", "/v1/export/records.csv").text))]
        assert kinds == ["case"], kinds
        assert [x["kind"] for x in a.request("GET", "/v1/records?kind=endorse").json()["records"]] == ["endorse"]
    finally:
        c.stop()


def test_admitted_key_publishes_everywhere():
    """A key admitted by two endorsements publishes to nodes whose configuration does not name it,
    with no configuration edit or restart; what it published before its admission is kept aside,
    not served nor relayed, and reaches everyone once it is admitted."""
    c = cl.line(["a", "b", "c"], sync_interval=1)
    d = None
    try:
        c.start()
        a, b, cc = c["a"], c["b"], c["c"]
        cl.wait_connected(c.running())
        nodes = [a, b, cc]
        # d joins: it learns the network's charter from c (a founding node with another charter
        # would exchange no membership records, docs/membership.md "How nodes agree")
        d = Node("d", gossip=True, extra=['peer "c".key=%s' % cc.key, 'peer "c".url=%s' % cc.url,
                                          "network.join=yes", "gossip.sync_interval=1", "node.log_level=info"])
        d.start()
        cl.wait_connected([d])
        # published before d is admitted: d acknowledges it as pending and keeps it; nobody serves it
        r = d.request("POST", "/v1/records", sample_case(title="加入前の事例"))
        assert r.status == 202 and r.json()["status"] == "pending_admission", r
        before = r.json()
        # a record of d reaching c before d's admission: c keeps it aside, serves and relays nothing
        x_key = cl.keypair(cl.temp_dir(), "x")[1]
        push(cc, [endorse_env(d.key_file, d.key, x_key, "未加入の推薦")], cl.temp_dir())
        wait_until(lambda: cl.metric_sum(cc, "renkei_pending_records") >= 1, timeout=20,
                   what="d's endorsement kept aside at c")
        cl.settle(2)  # a sync round or more
        for n in nodes + [d]:
            assert n.get("/v1/records/" + before["id"]).status == 404, n.name
            assert entry(n, x_key) is None, n.name
        assert cl.metric_sum(cc, "renkei_rejections_total", reason="not_member") >= 1
        endorse(a, d.key, "佐賀県")
        rec = endorse(b, d.key, "佐賀県")
        cl.wait_record(nodes + [d], rec["id"], rec["version"], timeout=20)
        wait_until(lambda: all(entry(n, d.key)["status"] == "admitted" for n in nodes), timeout=20,
                   what="d admitted everywhere")
        # what d published before its admission reaches everyone, without a new publish (issue 9,
        # done when 1), and what c kept aside of d's counts now, everywhere
        cl.wait_record(nodes, before["id"], before["version"], timeout=20)
        wait_until(lambda: all((entry(n, x_key) or {}).get("endorsers") == [d.key] for n in nodes), timeout=20,
                   what="d's early endorsement promoted at c and relayed")
        assert cl.metric_sum(cc, "renkei_pending_total", event="promoted") >= 1
        assert cl.metric_sum(d, "renkei_pending_total", event="promoted") >= 1
        assert cl.metric_sum(cc, "renkei_pending_records") == 0
        assert cl.metric_sum(d, "renkei_pending_records") == 0
        after = d.publish(sample_case(title="佐賀県の事例"))
        cl.wait_record(nodes, after["id"], after["version"], timeout=20)
        # the provenance names the admitted author as the roster describes it (the snapshot, not the
        # configuration, which does not name d on a)
        got = a.get("/v1/records/" + after["id"]).json()
        assert got["provenance"]["node"] == "佐賀県", got
    finally:
        if d:
            d.stop()
        c.stop()


def test_bad_membership_records_change_nothing():
    """Done when 6: membership records with a bad signature, by an unknown endorser, with a forged
    countersignature, an equivocating rotation and an endorsement of a revoked key are rejected at
    every node, counted by reason, and leave the roster and its digest as they were."""
    tmp = cl.temp_dir()
    e_file, e_key = cl.keypair(tmp, "e")  # a founding member without a daemon: its key file is here
    f_file, f_key = cl.keypair(tmp, "f")
    x_file, x_key = cl.keypair(tmp, "x")  # a stranger
    n1_file, n1_key = cl.keypair(tmp, "n1")
    n2_file, n2_key = cl.keypair(tmp, "n2")
    _, d_key = cl.keypair(tmp, "d")
    extra = ['member "e".key=%s' % e_key, 'member "f".key=%s' % f_key]
    c = cl.line(["a", "b"], sync_interval=1, extra={"a": extra, "b": extra})
    try:
        c.start()
        a, b = c["a"], c["b"]
        nodes = [a, b]
        cl.wait_connected(nodes)
        # setup that counts: e rotates to n1, f revokes itself
        rotated_at = int(time.time() * 1000) - 60000
        # of eight rotations with this version, the one hashing lowest: an equivocating one hashing
        # above it is then found in a few tries (from an arbitrary first, 64 tries failed 1 run in 65)
        first = min((rotate_env(e_file, e_key, n1_file, n1_key, version=rotated_at, created=rotated_at - 100 - i)
                     for i in range(8)), key=record_hash)
        push(a, [first, revoke_env(f_file, f_key, f_key)], tmp)
        wait_until(lambda: all(entry(n, e_key)["status"] == "rotated" and entry(n, f_key)["status"] == "revoked"
                               for n in nodes), timeout=20, what="e rotated and f revoked everywhere")
        before = {n.name: members(n) for n in nodes}
        assert before["a"]["digest"] == before["b"]["digest"]

        good = endorse_env(a.key_file, a.key, d_key, "佐賀県")
        tampered = bytearray(good)
        tampered[-1] ^= 1
        bad = {
            "bad_signature": bytes(tampered),
            "not_member": endorse_env(x_file, x_key, d_key, "佐賀県"),
            "bad_countersignature": rotate_env(a.key_file, a.key, n2_file, n2_key, countersignature=bytes(64)),
            "equivocation": equivocating_rotation(e_file, e_key, n2_file, n2_key, first, rotated_at),
            "revoked_subject": endorse_env(a.key_file, a.key, f_key, "盗まれた鍵"),
        }
        for n in nodes:
            push(n, list(bad.values()), tmp)
        for n in nodes:
            wait_until(lambda: all(cl.metric_sum(n, "renkei_rejections_total", reason=r) >= 1 for r in bad),
                       timeout=20, what="every bad record counted on %s" % n.name)
            rej = cl.rejections(n, "unknown-")
            assert all(rej.get(r, 0) >= 1 for r in bad), (n.name, rej)
        cl.settle(3)  # a reconciliation round or more: nothing of it travels either
        for n in nodes:
            assert members(n) == before[n.name], n.name
            assert entry(n, d_key) is None, n.name
            assert entry(n, n2_key) is None, n.name
            for r in ("bad_signature", "not_member", "bad_countersignature", "equivocation", "revoked_subject"):
                assert cl.metric_sum(n, "renkei_rejections_total", reason=r) >= 1
    finally:
        c.stop()


def admitted_network(tmp):
    """Founding a, b, c (a line) and d, joining through c, admitted by endorsements of a and b; d has
    published one case that every node holds. Returns (cluster, d, nodes, case)."""
    c = cl.line(["a", "b", "c"], sync_interval=1)
    c.start()
    a, b, cc = c["a"], c["b"], c["c"]
    cl.wait_connected(c.running())
    nodes = [a, b, cc]
    d = Node("d", gossip=True, extra=['peer "c".key=%s' % cc.key, 'peer "c".url=%s' % cc.url, "network.join=yes",
                                      "gossip.sync_interval=1", "node.log_level=info"])
    d.start()
    cl.wait_connected([d])
    endorse(a, d.key, "佐賀県")
    endorse(b, d.key, "佐賀県")
    wait_until(lambda: all((entry(n, d.key) or {}).get("status") == "admitted" for n in nodes + [d]), timeout=20,
               what="d admitted everywhere")
    case = d.publish(sample_case(title="更新前の鍵の事例"))
    cl.wait_record(nodes, case["id"], case["version"], timeout=20)
    return c, d, nodes, case


def rejected_everywhere(nodes, envelope, reason, tmp):
    """Pushes envelope to each node in turn: none relays it to the next (its count of `reason` is still
    zero when its own turn comes) and each rejects it, counted."""
    for n in nodes:
        assert cl.metric_sum(n, "renkei_rejections_total", reason=reason) == 0, n.name
        push(n, [envelope], tmp)
        wait_until(lambda: cl.metric_sum(n, "renkei_rejections_total", reason=reason) >= 1, timeout=20,
                   what="%s counted on %s" % (reason, n.name))
        cl.settle(1)


def test_rotation():
    """Done when 3: d rotates its key with `renkei key rotate`; its new records are accepted everywhere,
    its old records still verify, and a record signed by the old key after the rotation is rejected
    everywhere."""
    tmp = cl.temp_dir()
    c, d = None, None
    try:
        c, d, nodes, old_case = admitted_network(tmp)
        old_key, old_file = d.key, d.key_file
        new_file = os.path.join(tmp, "d-new.key")
        p = d.cli("key", "rotate", "--out", new_file)
        out = p.stdout.decode()
        assert "key_file" in out and new_file in out, out
        assert oct(os.stat(new_file).st_mode & 0o777) == "0o600"
        new_key = subprocess.run([RENKEI, "pubkey", new_file], check=True, capture_output=True,
                                 text=True).stdout.strip()
        wait_until(lambda: all((entry(n, old_key) or {}).get("status") == "rotated" and
                               (entry(n, new_key) or {}).get("status") == "admitted" for n in nodes + [d]),
                   timeout=20, what="the rotation on every node")
        assert all(entry(n, old_key)["rotated_to"] == new_key for n in nodes)
        # the node refuses to publish with the old key, and says what to do
        r = d.request("POST", "/v1/records", sample_case(title="旧鍵のまま"))
        assert r.status == 403 and r.json()["error"]["code"] == "rotated_key", r
        assert "key_file" in r.json()["error"]["message"], r
        # restarted with the new key, its records are accepted everywhere
        d.stop()
        d.extra.append("node.key_file=%s" % new_file)
        d.start()
        assert cl.status(d)["key"] == new_key
        new_case = d.publish(sample_case(title="新しい鍵の事例"))
        assert new_case["id"].startswith(new_key + ":"), new_case
        cl.wait_record(nodes, new_case["id"], new_case["version"], timeout=30)
        # the old key's records keep their id and still verify offline
        a = nodes[0]
        assert a.get("/v1/records/" + old_case["id"]).status == 200
        signed = os.path.join(tmp, "old.signed")
        a.cli("get", "--signed", "--out", signed, old_case["id"])
        assert a.cli("verify", signed, check=False).returncode == 0
        # a record the old key signs after the rotation is rejected everywhere, and relayed by none
        x_key = cl.keypair(tmp, "x")[1]
        late = endorse_env(old_file, old_key, x_key, "旧鍵で署名")
        rejected_everywhere(nodes, late, "rotated_key", tmp)
        assert all(entry(n, x_key) is None for n in nodes)
    finally:
        if d:
            d.stop()
        if c:
            c.stop()


def test_revocation():
    """Done when 4: a and b revoke d. A record d signs afterwards is rejected at every node and relayed
    by none; d's records from before the revocation stay everywhere (docs/membership.md: a revocation
    without `since` takes effect from its own version)."""
    tmp = cl.temp_dir()
    c, d = None, None
    try:
        c, d, nodes, case = admitted_network(tmp)
        a, b = nodes[0], nodes[1]
        a.cli("member", "revoke", "--key", d.key, "--reason", "テスト")
        assert entry(a, d.key)["status"] == "admitted"  # one revocation of t = 2
        b.cli("member", "revoke", "--key", d.key, "--reason", "テスト")
        wait_until(lambda: all((entry(n, d.key) or {}).get("status") == "revoked" for n in nodes), timeout=20,
                   what="d revoked everywhere")
        cl.settle(1)
        # d's own node refuses too once it has the revocations (it is one of "every node")
        wait_until(lambda: (entry(d, d.key) or {}).get("status") == "revoked", timeout=20, what="d knows")
        r = d.request("POST", "/v1/records", sample_case(title="失効後"))
        assert r.status == 403 and r.json()["error"]["code"] == "revoked_key", r
        x_key = cl.keypair(tmp, "x")[1]
        late = endorse_env(d.key_file, d.key, x_key, "失効後の推薦")
        rejected_everywhere(nodes, late, "revoked_key", tmp)
        assert all(entry(n, x_key) is None for n in nodes)
        # what d published before the revocation stays
        for n in nodes:
            assert n.get("/v1/records/" + case["id"]).status == 200, n.name
    finally:
        if d:
            d.stop()
        if c:
            c.stop()


def test_revocation_reaching_back():
    """A revocation whose `since` is before records already stored removes them on every node (they
    are invalid everywhere, so the sets converge), counts them, and leaves the records from before."""
    tmp = cl.temp_dir()
    c, d = None, None
    try:
        c, d, nodes, kept = admitted_network(tmp)
        since_s = kept["version"] // 1000 + 1
        while time.time() < since_s + 0.05:
            time.sleep(0.05)
        stolen = d.publish(sample_case(title="盗まれた鍵で署名"))
        assert stolen["version"] > since_s * 1000
        cl.wait_record(nodes, stolen["id"], stolen["version"], timeout=20)
        since = datetime.datetime.fromtimestamp(since_s, datetime.timezone(datetime.timedelta(hours=9))).isoformat()
        for n in nodes[:2]:
            n.cli("member", "revoke", "--key", d.key, "--since", since, "--reason", "盗難")
        wait_until(lambda: all((entry(n, d.key) or {}).get("status") == "revoked" for n in nodes + [d]),
                   timeout=20, what="d revoked everywhere")
        for n in nodes + [d]:
            wait_until(lambda: n.get("/v1/records/" + stolen["id"]).status == 404, timeout=20,
                       what="the record after since removed on %s" % n.name)
            assert cl.metric_sum(n, "renkei_invalidated_records_total") == 1, n.name
            assert n.get("/v1/records/" + kept["id"]).status == 200, n.name
        assert entry(nodes[0], d.key)["valid_until"] == since_s * 1000
        # the sets converge: every node has the same digest of public records
        wait_until(lambda: len({cl.status(n)["digest"]["public"]["fingerprint"] for n in nodes}) == 1, timeout=20,
                   what="the same public set everywhere")
    finally:
        if d:
            d.stop()
        if c:
            c.stop()


if __name__ == "__main__":
    run_tests(globals())
