"""Peers over tls+tcp://: records flow both ways through an encrypted, mutually authenticated link,
and a plain tcp:// dialer cannot talk to a TLS listener."""

import os
import subprocess
import time

import cluster
import rk
from rk import Node, wait_until


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 that also serves as the CA both peers trust."""
    key = os.path.join(directory, "tls.key")
    cert = os.path.join(directory, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def tls_options(cert, key):
    return ["gossip.tls_cert=" + cert, "gossip.tls_key=" + key, "gossip.tls_ca=" + cert,
            "gossip.sync_interval=2"]


def tls_listener(name, member):
    """A node listening for peers over TLS, with a new certificate, that counts `member` as a member:
    (node, its tls+tcp:// URL, the TLS options a peer of it needs)."""
    cert, key = make_certificate(cluster.temp_dir())
    tls = tls_options(cert, key)
    a = Node(name, gossip=True)
    a_url = a.url.replace("tcp://", "tls+tcp://")
    a.extra += ["gossip.listen=" + a_url, 'member "%s".key=' % member.name + member.key] + tls
    return a, a_url, tls


def test_records_flow_both_ways_over_tls():
    b = Node("tlsb")
    a, a_url, tls = tls_listener("tlsa", b)
    b.extra += ['peer "tlsa".key=' + a.key, 'peer "tlsa".url=' + a_url] + tls
    a.start()
    b.start()
    at_a = a.publish(rk.sample_case(title="TLSで届く事例"))
    at_b = b.publish(rk.sample_case(title="TLSで戻る事例", prefecture="24"))
    wait_until(lambda: b.get("/v1/records/" + at_a["id"]).status == 200, timeout=30, what="A's record at B")
    wait_until(lambda: a.get("/v1/records/" + at_b["id"]).status == 200, timeout=30, what="B's record at A")
    peers = b.get("/v1/peers").json()["peers"]
    assert any(p.get("name") == "tlsa" and p.get("state") == "connected" for p in peers), peers


def test_plain_tcp_dialer_gets_nothing_from_tls_listener():
    c = Node("plain")
    a, _, _ = tls_listener("tlsc", c)
    # the plain node dials the TLS port without TLS
    c.extra += ['peer "tlsc".key=' + a.key, 'peer "tlsc".url=' + a.url, "gossip.sync_interval=1"]
    a.start()
    c.start()
    rec = a.publish(rk.sample_case(title="暗号化なしには渡さない"))
    time.sleep(4)
    assert c.get("/v1/records/" + rec["id"]).status == 404
    peers = c.get("/v1/peers").json()["peers"]
    assert not any(p.get("state") == "connected" for p in peers), peers
    # the TLS node keeps serving its API
    assert a.get("/v1/status").status == 200


rk.run_tests(globals())
