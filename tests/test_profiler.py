"""jt.profiler: the ops of a training step (forward and backward) and record_function ranges appear
with counts, shapes and consistent times; schedules save the right steps; traces are valid JSON."""
import json

import pytest

import jtensor as jt


def _step(m, x):
    with jt.profiler.record_function("forward"):
        loss = m(x).relu().sum()
    loss.backward()


def test_ops_ranges_counts_and_self_times():
    m = jt.nn.Linear(8, 4)
    x = jt.randn(3, 8)
    _step(m, x)   # compile first calls outside the profile
    with jt.profiler.profile(record_shapes=True) as prof:
        _step(m, x)
    avg = {e.key: e for e in prof.key_averages()}
    assert {"forward", "jt::_linear", "jt::relu", "jt::sum", "jt::_relu_backward"} <= set(avg)
    assert avg["forward"].count == 1 and avg["jt::relu"].count == 1
    fwd = avg["forward"]
    inside = sum(avg[k].cpu_time_total for k in ("jt::_linear", "jt::relu"))
    assert fwd.cpu_time_total >= inside and fwd.self_cpu_time_total <= fwd.cpu_time_total - inside + 1e-6
    shapes = {e.key: e.input_shapes for e in prof.key_averages(group_by_input_shape=True)}
    assert shapes["jt::relu"] == [[3, 4]]
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=3)
    assert "Self CPU" in table and len([l for l in table.splitlines() if l.startswith(("jt::", "forward"))]) == 3


def test_nothing_is_recorded_outside_and_ops_still_work_after():
    with jt.profiler.profile() as prof:
        pass
    (jt.ones(3) * 2).sum()
    assert len(prof.events()) == 0
    assert (jt.ones(2) + 1).tolist() == [2.0, 2.0]


def test_schedule_and_trace_export(tmp_path):
    saved = []
    sched = jt.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    x = jt.ones(4)
    with jt.profiler.profile(schedule=sched, on_trace_ready=lambda p: saved.append(len(p.events()))) as prof:
        for _ in range(6):
            (x * 2).sum()
            prof.step()
    assert saved == [4]   # the two active steps, two ops each
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert len(events) == 4 and all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    handler = jt.profiler.tensorboard_trace_handler(str(tmp_path / "tb"))
    with jt.profiler.profile(on_trace_ready=handler):
        x.exp()
    assert len(list((tmp_path / "tb").iterdir())) == 1


def test_autograd_profiler_spelling_and_bad_schedule():
    with jt.autograd.profiler.profile() as prof:
        jt.ones(3).exp()
    assert "jt::exp" in prof.table()
    with pytest.raises(ValueError):
        jt.profiler.schedule(wait=0, warmup=0, active=0)
