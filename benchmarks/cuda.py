"""CUDA benchmark for a lent GPU (docs/cuda.md): generated elementwise kernels against the device's
memory bandwidth, the host time of a launch, and cuBLAS matmul; PyTorch's CUDA numbers in the same
run, interleaved, when torch with CUDA is installed. Medians of repeated runs, timed with CUDA
events. Prints a table and writes it as JSON to the path given (default cuda_bench.json).

    python benchmarks/cuda.py [out.json]
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

import jtensor as jt  # noqa: E402
from jtensor import bridge  # noqa: E402

REPS = 15

# Julia: the median milliseconds of `reps` runs of a map op's contiguous kernel on n float32
# elements, timed with events; and the host microseconds of one launch (small n, no sync).
ELEMENTWISE = r'''
let J = JTensor, n = {n}, o = J.op("{op}")
    xs = [J.to_cuda(randn(Float32, n)) for _ in 1:{nin}]
    out = J.cuda_array(Float32, (n,))
    J.map_into!(o.kernel, Float32, out, Tuple(xs), {extra})      # compile, load, warm up
    a, b = J.cuda_event_create(true), J.cuda_event_create(true)
    ms = Float64[]
    for _ in 1:{reps}
        J.cuda_event_record(a); J.map_into!(o.kernel, Float32, out, Tuple(xs), {extra}); J.cuda_event_record(b)
        J.cuda_event_synchronize(b); push!(ms, J.cuda_event_elapsed_ms(a, b))
    end
    sort!(ms)[cld(length(ms), 2)]
end
'''

LAUNCH = r'''
let J = JTensor, o = J.op("add"), x = J.to_cuda(ones(Float32, 1024)), out = J.cuda_array(Float32, (1024,))
    J.map_into!(o.kernel, Float32, out, (x, x), (1.0,))
    J.cuda_synchronize()
    t = time_ns()
    for _ in 1:2000
        J.map_into!(o.kernel, Float32, out, (x, x), (1.0,))
    end
    host = (time_ns() - t) / 2000 / 1000
    J.cuda_synchronize()
    host
end
'''

MATMUL = r'''
let J = JTensor, n = {n}
    a, b = J.to_cuda(randn(Float32, n, n)), J.to_cuda(randn(Float32, n, n))
    J.cuda_matmul(a, b); J.cuda_synchronize()
    e1, e2 = J.cuda_event_create(true), J.cuda_event_create(true)
    ms = Float64[]
    for _ in 1:{reps}
        J.cuda_event_record(e1); c = J.cuda_matmul(a, b); J.cuda_event_record(e2)
        J.cuda_event_synchronize(e2); push!(ms, J.cuda_event_elapsed_ms(e1, e2)); J.cuda_free(c.ptr)
    end
    sort!(ms)[cld(length(ms), 2)]
end
'''


def _torch():
    try:
        import torch
        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


def _torch_ms(torch, fn, reps=REPS):
    fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ms.append(a.elapsed_time(b))
    return statistics.median(ms)


def main(path="cuda_bench.json"):
    if not jt.cuda.driver_available():
        print("no CUDA driver and device: nothing to measure")
        return 1
    jt.cuda.configure_libraries()
    torch = _torch()
    rows = []
    n = 1 << 26
    for op, nin, extra, nbytes in (("add", 2, "(1.0,)", 12 * n), ("mul", 2, "()", 12 * n), ("exp", 1, "()", 8 * n),
                                   ("relu", 1, "()", 8 * n), ("gelu", 1, "()", 8 * n)):
        ms = float(bridge.eval_value(ELEMENTWISE.format(n=n, op=op, nin=nin, extra=extra, reps=REPS)))
        row = {"what": f"{op} float32 n=2^26", "jtensor_ms": ms, "jtensor_GBps": nbytes / ms / 1e6}
        if torch is not None:
            xs = [torch.randn(n, device="cuda") for _ in range(nin)]
            f = {"add": lambda: torch.add(xs[0], xs[1]), "mul": lambda: torch.mul(xs[0], xs[1]),
                 "exp": lambda: torch.exp(xs[0]), "relu": lambda: torch.relu(xs[0]),
                 "gelu": lambda: torch.nn.functional.gelu(xs[0])}[op]
            tms = _torch_ms(torch, f)
            row.update(torch_ms=tms, torch_GBps=nbytes / tms / 1e6)
        rows.append(row)
    rows.append({"what": "host time per launch (add, n=1024), us", "jtensor_us": float(bridge.eval_value(LAUNCH))})
    m = 4096
    ms = float(bridge.eval_value(MATMUL.format(n=m, reps=REPS)))
    row = {"what": f"matmul float32 {m}x{m}", "jtensor_ms": ms, "jtensor_TFLOPs": 2 * m ** 3 / ms / 1e9}
    if torch is not None:
        a, b = torch.randn(m, m, device="cuda"), torch.randn(m, m, device="cuda")
        tms = _torch_ms(torch, lambda: a @ b)
        row.update(torch_ms=tms, torch_TFLOPs=2 * m ** 3 / tms / 1e9)
    rows.append(row)
    load = os.getloadavg()
    result = {"device": bridge.eval_value("JTensor.cuda_arch()").strip('"'), "loadavg": load, "rows": rows,
              "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    for r in rows:
        print(" | ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
    print(f"load average {load}")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
