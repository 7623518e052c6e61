"""The CUDA backend on a GPU (marked `cuda`; every test skips without a CUDA driver and device).

The generated kernels run on `CudaArray`s and are compared with the same Julia scalar kernels on
the CPU: every map op for float32 (and int64 where its rule allows integers), contiguous and
strided; the reductions against the registry's CPU ops; cuBLAS products against Julia's BLAS;
streams and events from Python. See docs/cuda.md for the device run that executes these.
"""
import pytest

import jtensor as jt
from jtensor import bridge

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not jt.cuda.driver_available(), reason="no CUDA driver and device")]

# Julia: run every map op's generated kernel on the GPU and compare it with the scalar kernel on
# the CPU; returns the failures, one line each.
MAP_CHECK = r'''
let J = JTensor, bad = String[], n = 4099, rng = J.Random.MersenneTwister(1)
    for o in J.REGISTRY
        o.kind === :map || continue
        vs, _ = J.map_variants(o)
        for v in vs
            (v.Tc === Float32 || v.Tc === Int64) || continue
            any(T -> J._isghost(T), v.argtypes) && continue
            ins = [v.Tc <: AbstractFloat ? v.Tc.(randn(rng, n) .* 3) : v.Tc.(rand(rng, -20:20, n)) for _ in 1:v.nin]
            params = J._check_schema(o.schema)[2]
            ex = Tuple(J._host_extra(v.argtypes[k], params[k].default) for k in v.nin+1:length(v.argtypes))
            want = try
                [J.jconvert(v.R, o.kernel((x[i] for x in ins)..., ex...)) for i in 1:n]
            catch
                continue
            end
            for strided in (false, true)
                dins = [J.to_cuda(x) for x in ins]
                out = J.cuda_array(v.R, (n,))
                if strided   # every other element of a 2n buffer: the strided kernel
                    dins = [J.CudaArray{v.Tc,1}(J.to_cuda(repeat(x, inner = 2)).ptr, (n,), (2,), 0) for x in ins]
                end
                J.map_into!(o.kernel, v.Tc, out, Tuple(dins), ex)
                got = J.from_cuda(out)
                ok = all(i -> isequal(got[i], want[i]) || (v.R <: AbstractFloat && isapprox(got[i], want[i]; rtol = 1e-5, atol = 1e-6)), 1:n)
                ok || push!(bad, "$(v.name) strided=$strided: max error " *
                            string(maximum(abs.(Float64.(got) .- Float64.(want)))))
            end
        end
    end
    J.cuda_synchronize()
    join(bad, "\n")
end
'''


def test_every_map_kernel_matches_the_cpu_kernel():
    bad = bridge.eval_value(MAP_CHECK).strip('"')
    assert bad == "", bad


def test_reductions_match_the_registry_cpu_ops():
    code = r'''
    let J = JTensor, X = Float32.(randn(J.Random.MersenneTwister(2), 513, 7, 3)), d = J.to_cuda(X), bad = String[]
        for (kind, dim, ref) in (("sum", 1, J.call("sum", X, 1, true, nothing)), ("mean", 2, J.call("mean", X, 2, true, nothing)),
                                 ("max", 1, J.call("amax", X, 1, true)), ("var", 3, J.call("var", X, 3, 1.0, true)),
                                 ("argmax", 2, reshape(J.call("argmax", X, 2, false), 513, 1, 3)))
            got = J.from_cuda(J.cuda_reduce(kind, d, dim))
            isapprox(Float64.(got), Float64.(ref); rtol = 1e-4) || push!(bad, kind)
        end
        s = J.from_cuda(J.cuda_softmax(d))
        isapprox(s, J.call("softmax", X, 1, nothing); rtol = 1e-5) || push!(bad, "softmax")
        join(bad, ",")
    end'''
    assert bridge.eval_value(code).strip('"') == ""


def test_cublas_matmul_bmm_linear():
    code = r'''
    let J = JTensor, rng = J.Random.MersenneTwister(3)
        a, b = randn(rng, Float32, 64, 96), randn(rng, Float32, 128, 64)   # Julia order: torch a (96×64) @ b (64×128)
        c = J.from_cuda(J.cuda_matmul(J.to_cuda(a), J.to_cuda(b)))
        ok1 = isapprox(c, b * a; rtol = 1e-4)    # Julia order: (a_t b_t)' is b_t' times a_t'
        A, B = randn(rng, Float64, 8, 5, 3), randn(rng, Float64, 4, 8, 3)
        C = J.from_cuda(J.cuda_matmul(J.to_cuda(A), J.to_cuda(B)))
        ok2 = all(k -> isapprox(C[:, :, k], B[:, :, k] * A[:, :, k]; rtol = 1e-10), 1:3)
        x, w = randn(rng, Float32, 32, 16), randn(rng, Float32, 32, 10)   # torch x (16×32), weight (10×32)
        y = J.from_cuda(J.cuda_linear(J.to_cuda(x), J.to_cuda(w)))
        ok3 = isapprox(y, w' * x; rtol = 1e-4)
        ok1 && ok2 && ok3
    end'''
    jt.cuda.configure_libraries()
    assert bridge.eval_value(code) is True


def test_streams_and_events_from_python():
    s = jt.cuda.Stream()
    start, end = jt.cuda.Event(enable_timing=True), jt.cuda.Event(enable_timing=True)
    start.record(s)
    end.record(s)
    end.synchronize()
    assert start.elapsed_time(end) >= 0
    s.synchronize()
    jt.cuda.synchronize()
    assert jt.cuda.device_count() >= 1
    assert jt.cuda.memory_allocated() >= 0
    jt.cuda.empty_cache()
