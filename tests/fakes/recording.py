"""Record when each request reached a fake carrier, as the carrier would count it (for quota checks).

    carrier = CarrierProcess(lambda: Kuaidi100Fake(latency=0.1))   # its own process, real-time priority
    ... poll against carrier.url ...
    arrivals = carrier.stop()
    arrivals.peak("kernel")    # most requests in any one-second window, by the kernel's receive time
    arrivals.peak("handler")   # the same by the handler thread's clock (after its scheduling delay)

Two clocks, because the instrument must not be the thing under load: a real
carrier counts a request when it reaches its machine, while a fake on the
same starved box only looks at its clock once its handler thread gets a CPU.
The kernel's receive timestamp (SO_TIMESTAMPNS, read with recvmsg) is taken
when the packet is queued to the socket; on loopback that is the moment the
sender's write left it, whatever happens to the fake's threads afterwards.
The fake also runs in a process of its own at real-time priority
(SCHED_FIFO, as root), so it answers after its latency like a remote
machine would, not after the CPU hogs are done with the cores.
"""
from __future__ import annotations

import io
import os
import socket
import struct
import threading
import time
from collections import Counter

# Linux values (asm-generic/socket.h); Python's socket module does not name them.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
KERNEL_ARRIVAL = "yx.kernel_arrival"  # WSGI environ key: the kernel's receive time (time.time() clock)


class Recorder:
    """WSGI middleware: the arrival of every request, by the kernel's clock and the handler's."""

    def __init__(self, app):
        self.app = app
        self.arrivals: list[float] = []  # time.time() when the handler thread saw the request
        self.kernel_arrivals: list[float] = []  # the kernel's receive time of its first bytes
        self.statuses: Counter = Counter()
        self.unstamped = 0  # requests the kernel gave no receive time for (counted at the handler's)
        self._lock = threading.Lock()

    def __getattr__(self, name):  # the wrapped fake's knobs and counters
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        arrived = time.time()
        kernel = environ.get(KERNEL_ARRIVAL)
        with self._lock:
            self.arrivals.append(arrived)
            # No kernel stamp (a server without the stamped handler): the handler's clock, never nothing.
            self.kernel_arrivals.append(kernel if kernel is not None else arrived)
            self.unstamped += kernel is None

        def recording_start_response(status, headers, exc_info=None):
            with self._lock:
                self.statuses[int(status.split(" ", 1)[0])] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start_response)

    def snapshot(self) -> "Arrivals":
        with self._lock:
            return Arrivals(list(self.kernel_arrivals), list(self.arrivals), dict(self.statuses), self.unstamped)


class Arrivals:
    """What a carrier saw: arrival times by two clocks, and the statuses it answered."""

    def __init__(self, kernel: list[float], handler: list[float], statuses: dict, unstamped: int = 0):
        self.kernel, self.handler, self.statuses, self.unstamped = kernel, handler, Counter(statuses), unstamped

    def __len__(self):
        return len(self.kernel)

    def peak(self, clock: str = "kernel", window: float = 1.0) -> int:
        """The largest number of arrivals inside any half-open window [t, t + window)."""
        return max_in_window(getattr(self, clock), window)

    def rate(self, clock: str = "kernel") -> float:
        """Sustained arrivals per second: the mean count of the complete seconds since the first one."""
        return sustained_rate(getattr(self, clock))


def max_in_window(arrivals, window: float = 1.0) -> int:
    """The largest number of arrivals inside any half-open window [t, t + window)."""
    times = sorted(arrivals)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def sustained_rate(arrivals) -> float:
    """The mean count of the complete seconds since the first arrival."""
    times = sorted(arrivals)
    if len(times) < 2:
        return 0.0
    whole = int(times[-1] - times[0])
    if whole < 1:
        return float(len(times))
    return sum(1 for t in times if t - times[0] < whole) / whole


class _StampedSocketReader(io.RawIOBase):
    """A socket's byte stream read with recvmsg, keeping the kernel's receive time of the first bytes
    read since `reset()` (the start of the next request on a keep-alive connection)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.first_stamp: float | None = None
        self._ancillary = socket.CMSG_SPACE(struct.calcsize("qq"))

    def readable(self) -> bool:
        return True

    def reset(self) -> None:
        self.first_stamp = None

    def readinto(self, buffer) -> int:
        count, ancillary, _flags, _address = self.sock.recvmsg_into([buffer], self._ancillary)
        if count and self.first_stamp is None:
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                    seconds, nanoseconds = struct.unpack("qq", data[:16])
                    self.first_stamp = seconds + nanoseconds / 1e9
        return count


def _stamped_handler():
    from tests.fakes.server import _QuietHandler

    class KernelStampedHandler(_QuietHandler):
        """HTTP/1.1 keep-alive (as real carrier APIs answer), each request stamped with the kernel's time."""

        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self._stamps = _StampedSocketReader(self.connection)
            self.rfile = io.BufferedReader(self._stamps)

        def handle_one_request(self):
            # No pipelining from our clients: whatever the buffer holds belongs to this request.
            self._stamps.reset()
            return super().handle_one_request()

        def make_environ(self):
            environ = super().make_environ()
            environ[KERNEL_ARRIVAL] = self._stamps.first_stamp
            return environ

    return KernelStampedHandler


def serve_keepalive(app, host: str = "127.0.0.1"):
    """Like tests.fakes.server.serve, but HTTP/1.1 with keep-alive, and kernel receive stamps.

    Reused connections keep connection set-up out of the path between the
    poller taking a quota slot and its request arriving.
    """
    from werkzeug.serving import make_server

    server = make_server(host, 0, app, threaded=True, request_handler=_stamped_handler())
    # On the listening socket: accepted connections inherit it, so a request that arrives
    # before its handler thread runs (the first one on a connection) is stamped too.
    server.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    thread = threading.Thread(target=server.serve_forever, name="fake-keepalive", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", stop


def raise_priority() -> str:
    """Put this process (and threads it starts from now on) ahead of everything else; say how."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
        return "SCHED_FIFO 50"
    except (PermissionError, OSError, AttributeError):
        pass
    try:
        os.nice(-15)
        return "nice -15"
    except (PermissionError, OSError):
        return "normal priority (not allowed higher)"


def _carrier_main(make_app, conn, priority: bool) -> None:
    scheduling = raise_priority() if priority else "normal priority"
    recorder = Recorder(make_app())
    url, stop = serve_keepalive(recorder)
    conn.send((url, scheduling))
    conn.recv()  # "stop"
    stop()
    snap = recorder.snapshot()
    conn.send({"kernel": snap.kernel, "handler": snap.handler, "statuses": dict(snap.statuses),
               "unstamped": snap.unstamped})


class CarrierProcess:
    """A fake carrier served from a process of its own (real-time priority unless `priority=False`)."""

    def __init__(self, make_app, *, priority: bool = True):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_carrier_main, args=(make_app, child, priority),
                                        name="fake-carrier", daemon=True)
        self._process.start()
        self.url, self.scheduling = self._conn.recv()

    def stop(self) -> Arrivals:
        """Stop serving; what the carrier saw."""
        self._conn.send("stop")
        data = self._conn.recv()
        self._process.join(timeout=10)
        return Arrivals(data["kernel"], data["handler"], data["statuses"], data["unstamped"])
