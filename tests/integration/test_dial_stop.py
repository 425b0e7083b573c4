"""A dialer stopped while one of its threads is inside nng_ctx_send (the crash fixed in 5947b4e), or
waiting on its socket, after which it must not close its context itself (the crash of a roster peer
dropped in test_roster_peers, fixed in rk_peer_dial_run).

NNG 1.5 panics when a socket is closed while another thread is inside nng_ctx_send on it; the window is
a few instructions wide, so test_roster_peers met it in one run of seven. Here renkeid runs with the
nng_send_hold shim (tests/common/nng_send_hold.c) preloaded: the first send of a dialer is held inside
nng_ctx_send for HOLD_MS, and a socket closed during a send aborts the daemon with a message. The node
is stopped while the send is held, so the stop meets the thread inside the send every time; it must
wait for the send to return, close the socket and exit cleanly."""

import os
import signal
import subprocess
import tempfile
import time

import rk

HOLD_MS = 3000
SHIM = os.environ.get("RENKEI_NNG_SEND_HOLD", "build/tests/librk_nng_send_hold.so")


def preload():
    return rk.preload(SHIM)


def waiting_node(name):
    """A node whose dialer to a peer nobody listens for waits on its socket (no send held)."""
    n = rk.Node(name, gossip=True)
    absent = rk.Node(name + "-absent", gossip=True)
    with open(n.config, "a", encoding="utf-8") as f:
        f.write('\n[peer "absent"]\nkey = %s\nurl = %s\n' % (absent.key, absent.url))
    return n.start(env={"LD_PRELOAD": preload()})


def held_node(name):
    """A node with one configured peer on a loopback port nobody listens on: its dialer's first send
    (the handshake's Hello) is queued at once and held; the shim's marker is the file n.marker, in the
    node's directory (removed with it)."""
    n = rk.Node(name, gossip=True)
    n.marker = os.path.join(n.dir, "sends")
    absent = rk.Node(name + "-absent", gossip=True)  # a key and a free port, never started
    with open(n.config, "a", encoding="utf-8") as f:
        f.write('\n[peer "absent"]\nkey = %s\nurl = %s\n' % (absent.key, absent.url))
    return n.start(env={"LD_PRELOAD": preload(), "RENKEI_NNG_HOLD_MS": str(HOLD_MS), "RENKEI_NNG_HOLD_FILE": n.marker})


def test_a_dialer_stopped_during_a_send_closes_its_socket_after_the_send():
    n = held_node("holdstop")
    rk.wait_until(lambda: os.path.exists(n.marker) and open(n.marker).read().startswith("send "), timeout=20,
                  what="a dialer thread held inside nng_ctx_send")
    t0 = time.time()
    rc = n.stop(timeout=HOLD_MS / 1000 + 30)
    log = n.log()
    assert "closed during nng_ctx_send" not in log, log
    assert rc == 0, (rc, log)
    # the stop waits for the held send, and no longer
    assert time.time() - t0 < HOLD_MS / 1000 + 20, log


def test_a_dialer_stopped_while_waiting_leaves_its_contexts_to_the_socket_close():
    """The dialer's threads wait on the socket (the handshake's Hello cannot be sent: no one listens);
    the stop closes the socket, which ends their waits and closes their contexts. Before the fix each
    thread then closed its context itself, during or after that close, which the shim reports."""
    n = waiting_node("waitstop")
    time.sleep(1.0)  # the dialer's threads start with the node and wait at once
    rc = n.stop(timeout=30)
    log = n.log()
    assert "began closing" not in log, log
    assert rc == 0, (rc, log)


def test_the_shim_sees_a_context_closed_after_its_socket():
    """The shim's second check, driven through ctypes: a context closed after its REQ socket's
    nng_close is reported and aborts."""
    code = r'''
import ctypes
ctypes.CDLL("libnng.so.1", mode=ctypes.RTLD_GLOBAL)
nng = ctypes.CDLL(None)
sock = ctypes.c_uint32()
assert nng.nng_req0_open(ctypes.byref(sock)) == 0
ctx = ctypes.c_uint32()
assert nng.nng_ctx_open(ctypes.byref(ctx), sock) == 0
nng.nng_close(sock)
nng.nng_ctx_close(ctx)
print("closed")
'''
    env = dict(os.environ, LD_PRELOAD=preload(), ASAN_OPTIONS="detect_leaks=0")
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == -signal.SIGABRT and "began closing" in p.stderr, (p.returncode, p.stderr)


def test_the_shim_sees_a_socket_closed_during_a_send():
    """The shim itself, so that the test above cannot pass for want of a working shim: a REQ socket
    closed at once while a thread is held inside nng_ctx_send, as the stop before 5947b4e did, is
    reported and aborts (driven from Python through ctypes)."""
    code = r'''
import ctypes, threading, time, os
ctypes.CDLL("libnng.so.1", mode=ctypes.RTLD_GLOBAL)
nng = ctypes.CDLL(None)  # the global namespace, where the preloaded shim comes first
sock = ctypes.c_uint32()
assert nng.nng_req0_open(ctypes.byref(sock)) == 0
ctx = ctypes.c_uint32()
assert nng.nng_ctx_open(ctypes.byref(ctx), sock) == 0
aio = ctypes.c_void_p()
assert nng.nng_aio_alloc(ctypes.byref(aio), None, None) == 0
msg = ctypes.c_void_p()
assert nng.nng_msg_alloc(ctypes.byref(msg), ctypes.c_size_t(0)) == 0
nng.nng_aio_set_msg(aio, msg)
t = threading.Thread(target=nng.nng_ctx_send, args=(ctx, aio))
t.start()
while not os.path.exists(os.environ["RENKEI_NNG_HOLD_FILE"]):
    time.sleep(0.01)
nng.nng_close(sock)
print("closed")
'''
    with tempfile.TemporaryDirectory(prefix="rk-hold-") as d:
        # under a sanitizer build, the interpreter's own allocations are not what this test checks
        env = dict(os.environ, LD_PRELOAD=preload(), RENKEI_NNG_HOLD_MS="2000", ASAN_OPTIONS="detect_leaks=0",
                   RENKEI_NNG_HOLD_FILE=os.path.join(d, "sends"))
        p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == -signal.SIGABRT and "closed during nng_ctx_send" in p.stderr, (p.returncode, p.stderr)


rk.run_tests(globals())
