"""A flush that fails after its commit (docs/storage.md, "A failed flush"): the writer's commit went
through, then the sync thread's fdatasync failed, as a failing disk's does. The publish is not
acknowledged (503 store_error, the message naming the flush), because the record may not survive a
system crash, although it is in the store and reads show it. A retry is safe: POST with the same rid
answers 409 (the record exists once), PUT signs a new version of the same content, whose flush then
succeeds; both survive a restart. The failure is made by the fdatasync_fail shim
(tests/common/fdatasync_fail.c), preloaded into renkeid: while its file exists, the fdatasync calls
of the thread named renkei-sync fail with EIO."""

import os

import cluster
import rk

SHIM = os.environ.get("RENKEI_FDATASYNC_FAIL", "build/tests/librk_fdatasync_fail.so")


def test_a_failed_flush_is_not_acknowledged_and_a_retry_is_safe():
    n = rk.Node("flushfail")
    trigger = os.path.join(n.dir, "fail-flush")
    env = {"LD_PRELOAD": rk.preload(SHIM), "RENKEI_FDATASYNC_FAIL_FILE": trigger}
    n.start(env=env)
    first = n.request("POST", "/v1/records", dict(rk.sample_case(title="先に公開"), rid="before"))
    assert first.status == 201, first

    with open(trigger, "w", encoding="utf-8"):
        pass
    record = dict(rk.sample_case(title="書き込み後に同期が失敗した事例"), rid="unsynced")
    r = n.request("POST", "/v1/records", record)
    assert r.status == 503, r
    err = r.json()["error"]
    assert err["code"] == "store_error" and "flushing" in err["message"], err
    with open(trigger, encoding="utf-8") as f:
        assert f.read().startswith("fail"), "the shim failed no fdatasync: this test proves nothing"
    os.unlink(trigger)
    assert rk.wait_until(lambda: n.get("/v1/status").json()["last_store_failure"] is not None, timeout=10,
                         what="the failure in the status")
    assert n.get("/v1/status").json()["last_store_failure"]["code"] == "store_error"
    assert cluster.metric_sum(n, "renkei_store_errors_total", code="store_error") >= 1

    # committed before the flush failed: in the store and shown, though never acknowledged
    stored = n.get("/v1/records/unsynced")
    assert stored.status == 200, stored
    version = stored.json()["version"]
    # a retry of the POST does not make a second record: the rid exists
    again = n.request("POST", "/v1/records", record)
    assert again.status == 409 and again.json()["error"]["code"] == "conflict", again
    # a PUT of the same content is a new version, flushed this time; the node writes again
    put = n.request("PUT", "/v1/records/unsynced", record)
    assert put.status == 200, put
    assert put.json()["version"] > version, (put.json(), version)
    assert n.request("POST", "/v1/records", dict(rk.sample_case(title="後で公開"), rid="after")).status == 201

    n.stop()
    n.start()
    for rid in ("before", "unsynced", "after"):
        assert n.get("/v1/records/" + rid).status == 200, rid
    assert n.get("/v1/records/unsynced").json()["version"] == put.json()["version"]
    assert n.get("/v1/status").json()["records"]["total"] == 3
    n.stop()


if __name__ == "__main__":
    rk.run_tests(globals())
