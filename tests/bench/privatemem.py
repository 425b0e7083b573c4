"""A process's private memory, as docs/benchmarks.md measures it, and its peak while something runs.

private_kib(pid): Private_Clean + Private_Dirty of every mapping of /proc/PID/smaps but LMDB's
data.mdb, whose pages are the page cache's, not the daemon's own (bench_node.sh's awk does the same);
with store=True the whole of /proc/PID/smaps_rollup, data.mdb included.

    with PeakPrivate(pid, interval=0.01) as mem:
        ...
    print(mem.base, mem.peak)
"""
import threading
import time


def private_kib(pid, store=False):
    if store:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            return sum(int(line.split()[1]) for line in f
                       if line.startswith(("Private_Clean:", "Private_Dirty:")))
    total, skip = 0, False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                skip = line.rstrip().endswith("/data.mdb")
            elif not skip and first in ("Private_Clean:", "Private_Dirty:"):
                total += int(line.split()[1])
    return total


class PeakPrivate:
    """Samples private_kib(pid, store) every interval seconds from entry to exit: base, peak."""

    def __init__(self, pid, interval, store=False):
        self.pid, self.interval, self.store = pid, interval, store
        self.base = self.peak = private_kib(pid, store)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self):
        while not self._done.is_set():
            self.peak = max(self.peak, private_kib(self.pid, self.store))
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        return False
