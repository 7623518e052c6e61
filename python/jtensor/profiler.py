"""`jt.profiler`: where a program's time goes, op by op, as torch.profiler.

``with jt.profiler.profile() as prof:`` times every primitive that runs inside (each registry op
and view, forward and backward, seen through a dispatch mode below autograd) and every
``record_function`` range; ``prof.key_averages().table(sort_by="cpu_time_total")`` prints them
grouped by name (with input shapes when ``record_shapes`` and ``group_by_input_shape``), and
``prof.export_chrome_trace(path)`` writes a trace for chrome://tracing or Perfetto.
`schedule` and `on_trace_ready` work as torch's: ``prof.step()`` advances the schedule. Times are
wall-clock CPU times around each call; while profiling, the C fast path is off (a dispatch mode
needs the drivers), so small ops take a few microseconds more than they do unprofiled.
"""
import collections
import enum
import functools
import json
import os
import threading
import time

from .utils._python_dispatch import JTensorDispatchMode

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "EventList", "FunctionEvent", "FunctionEventAvg"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """The action for each step number: skip `skip_first`, then cycles of `wait` idle, `warmup`
    (profiled, discarded) and `active` recorded steps, the last of which saves; `repeat` cycles
    (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("Invalid profiler schedule arguments")

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always_record(step):
    return ProfilerAction.RECORD


class FunctionEvent:
    """One timed call: name, start and end (µs since the profile began), thread, input shapes."""

    __slots__ = ("name", "start_us", "end_us", "thread", "input_shapes", "is_user_annotation")

    def __init__(self, name, start_us, end_us, thread, input_shapes=(), is_user_annotation=False):
        self.name, self.start_us, self.end_us = name, start_us, end_us
        self.thread, self.input_shapes, self.is_user_annotation = thread, input_shapes, is_user_annotation

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.end_us - self.start_us

    @property
    def cpu_time(self):
        return self.cpu_time_total

    def __repr__(self):
        return f"<FunctionEvent {self.name} {self.cpu_time_total:.1f} us>"


class FunctionEventAvg:
    """The events of one name (and shapes): count, total, average and self time in µs."""

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return f"<FunctionEventAvg {self.key} count={self.count} total={self.cpu_time_total:.1f} us>"


def _fmt_us(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    """A list of `FunctionEvent` or `FunctionEventAvg` with torch's `table`."""

    def __init__(self, events=(), self_times=None):
        super().__init__(events)
        self._self_times = self_times or {}

    def key_averages(self, group_by_input_shape=False):
        groups = collections.OrderedDict()
        for e in self:
            key = (e.name, repr(e.input_shapes) if group_by_input_shape else None)
            g = groups.get(key)
            if g is None:
                g = groups[key] = FunctionEventAvg(e.name, list(e.input_shapes) if group_by_input_shape else None)
            g.count += 1
            g.cpu_time_total += e.cpu_time_total
            g.self_cpu_time_total += self._self_times.get(id(e), e.cpu_time_total)
        return EventList(groups.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for e in self:
            total.count += getattr(e, "count", 1)
            total.cpu_time_total += e.cpu_time_total
            total.self_cpu_time_total += getattr(e, "self_cpu_time_total", e.cpu_time_total)
        return total

    def table(self, sort_by=None, row_limit=100, max_name_column_width=55, header=None, top_level_events_only=False):
        """The averages as torch's text table, sorted by `sort_by` (e.g. "cpu_time_total",
        "self_cpu_time_total", "count"), at most `row_limit` rows."""
        rows = list(self) if self and isinstance(self[0], FunctionEventAvg) else list(self.key_averages())
        if sort_by:
            key = sort_by.replace("cuda", "cpu").replace("device", "cpu")
            rows.sort(key=lambda r: getattr(r, key, 0), reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        total_self = sum(r.self_cpu_time_total for r in self) or 1.0
        shapes = any(r.input_shapes for r in rows)
        width = min(max_name_column_width, max([4] + [len(r.key) for r in rows]))
        cols = ["Name".ljust(width), "Self CPU %", "Self CPU", "CPU total", "CPU time avg", "# of Calls"]
        if shapes:
            cols.append("Input Shapes")
        line = "-" * (sum(len(c) + 2 for c in cols) + 20)
        out = [header] if header else []
        out += [line, "  ".join(c.rjust(12) if i else c for i, c in enumerate(cols)), line]
        for r in rows:
            cells = [r.key[:width].ljust(width), f"{100 * r.self_cpu_time_total / total_self:.2f}%",
                     _fmt_us(r.self_cpu_time_total), _fmt_us(r.cpu_time_total), _fmt_us(r.cpu_time), str(r.count)]
            if shapes:
                cells.append(str(r.input_shapes or ""))
            out.append("  ".join(c.rjust(12) if i else c for i, c in enumerate(cells)))
        out += [line, f"Self CPU time total: {_fmt_us(total_self)}", ""]
        return "\n".join(out)


class _Recorder(JTensorDispatchMode):
    """The dispatch mode that times each primitive into the active profile."""

    def __init__(self, prof):
        self.prof = prof

    def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
        prof = self.prof
        start = time.perf_counter()
        try:
            return func(*args, **(kwargs or {}))
        finally:
            shapes = _shapes(args) if prof.record_shapes else ()
            prof._add(f"jt::{func.__name__}", start, time.perf_counter(), shapes)


def _shapes(args):
    out = []
    for a in args:
        s = getattr(a, "shape", None)
        if s is not None:
            out.append(list(s))
        elif isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
            out.append([list(x.shape) for x in a])
        else:
            out.append([])
    return out


_ACTIVE = []   # the profiles recording now (innermost last)


class profile:
    """Profile the code inside (see the module doc). Arguments as torch.profiler.profile; CUDA
    activities are accepted and record nothing (this build has no CUDA device)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None):
        self.activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        self.schedule = schedule or _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory, self.with_stack, self.with_flops = profile_memory, with_stack, with_flops
        self.step_num = 0
        self._events = []
        self._saved = []
        self._self = {}
        self._t0 = None
        self._mode = None
        self._stack = threading.local()
        self._action = ProfilerAction.NONE

    # ---- recording ----
    def _recording(self):
        return self._action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE, ProfilerAction.WARMUP)

    def _add(self, name, start, end, shapes=(), annotation=False):
        if not self._recording():
            return
        e = FunctionEvent(name, (start - self._t0) * 1e6, (end - self._t0) * 1e6, threading.get_ident(), shapes,
                          annotation)
        self._events.append(e)

    def _start_recording(self):
        if self._mode is None and ProfilerActivity.CPU in self.activities:
            self._mode = _Recorder(self)
            self._mode.__enter__()

    def _stop_recording(self):
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None

    def start(self):
        self._t0 = time.perf_counter()
        _ACTIVE.append(self)
        self._transition(self.schedule(self.step_num))

    def stop(self):
        if self._action == ProfilerAction.RECORD:
            self._action = ProfilerAction.RECORD_AND_SAVE   # leaving saves what was recorded
        self._transition(ProfilerAction.NONE)
        self._stop_recording()
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def step(self):
        """End a training step: the schedule decides what the next one does."""
        self.step_num += 1
        self._transition(self.schedule(self.step_num))

    def _transition(self, new):
        old = self._action
        if old == ProfilerAction.WARMUP and new != ProfilerAction.WARMUP:
            self._events = []   # warm-up steps are profiled and thrown away
        if old == ProfilerAction.RECORD_AND_SAVE:
            self._saved = self._finish(self._events)
            self._events = []
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        self._action = new
        if new == ProfilerAction.NONE:
            self._stop_recording()
        else:
            self._start_recording()

    def _finish(self, events):
        """Events sorted by start, with each event's self time (less its nested events')."""
        events = sorted(events, key=lambda e: (e.start_us, -e.end_us))
        self._self = {}
        stack = []
        child_time = collections.defaultdict(float)
        for e in events:
            while stack and stack[-1].end_us <= e.start_us:
                stack.pop()
            if stack and stack[-1].thread == e.thread:
                child_time[id(stack[-1])] += e.cpu_time_total
            stack.append(e)
        for e in events:
            self._self[id(e)] = e.cpu_time_total - child_time[id(e)]
        return events

    # ---- results ----
    def events(self):
        return EventList(self._saved, self._self)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self.events().key_averages(group_by_input_shape)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (JSON) to `path`."""
        pid = os.getpid()
        trace = {"traceEvents": [{"name": e.name, "ph": "X", "ts": e.start_us, "dur": e.cpu_time_total, "pid": pid,
                                  "tid": e.thread, "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                                  "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
                                 for e in self._saved]}
        with open(path, "w") as f:
            json.dump(trace, f)


class record_function:
    """A named range (context manager or decorator) in the active profiles' events."""

    def __init__(self, name, args=None):
        self.name = name
        self._start = None

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        end = time.perf_counter()
        for prof in _ACTIVE:
            prof._add(self.name, self._start, end, annotation=True)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An `on_trace_ready` that writes each saved trace as `<worker>.<step>.pt.trace.json` in `dir_name`."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{os.uname().nodename}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{worker}.{prof.step_num}.pt.trace.json"))
    return handler
