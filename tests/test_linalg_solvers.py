"""LU factorization, triangular, LU and Cholesky solves (julia/src/ops/linalg_solvers.jl and
python/jtensor/linalg_solvers.py) against torch: values over shapes, batch broadcasting and dtypes
(real and complex), the deprecated torch.* forms, errors, and gradients against torch.autograd.
Finite-difference checks of the same functions are rows of tests/test_gradients.py."""
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt

DTYPES = ["float32", "float64", "complex64", "complex128"]
TOL = {"float32": 2e-4, "float64": 1e-10, "complex64": 2e-4, "complex128": 1e-10}


def _rand(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(*shape, dtype=getattr(torch, dtype), generator=g)
    return t


def quiet(fn, *args, **kw):
    """Call a deprecated torch function (it warns once per process) without the warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def J(t):
    return jt.tensor(t.detach().resolve_conj().numpy())


def close(a, b, dtype="float64"):
    np.testing.assert_allclose(a.numpy(), b.detach().resolve_conj().numpy(), rtol=TOL[dtype], atol=TOL[dtype])


def _well_conditioned(shape, dtype, seed=0):
    A = _rand(shape, dtype, seed)
    n = shape[-1]
    return A + 3 * torch.eye(n, dtype=A.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (5, 3), (3, 5), (2, 1, 4, 2), (0, 3, 3), (3, 0)])
def test_lu_factor_and_lu(shape, dtype):
    A = _rand(shape, dtype)
    r, q = torch.linalg.lu_factor_ex(A), jt.linalg.lu_factor_ex(J(A))
    close(q.LU, r.LU, dtype)
    assert q.pivots.dtype is jt.int32 and q.info.dtype is jt.int32
    np.testing.assert_array_equal(q.pivots.numpy(), r.pivots.numpy())
    np.testing.assert_array_equal(q.info.numpy(), r.info.numpy())
    for a, b in zip(jt.linalg.lu(J(A)), torch.linalg.lu(A)):
        close(a, b, dtype)
    LU, piv = jt.linalg.lu_factor(J(A)) if min(shape[-2:]) == 0 or shape[-1] != shape[-2] else \
        jt.linalg.lu_factor(J(_well_conditioned(shape, dtype)))
    assert LU.shape == tuple(shape)


def test_lu_unpack_and_torch_lu():
    A = _rand((2, 4, 3), "float64")
    LU, piv = torch.linalg.lu_factor(A)
    for kw in ({}, {"unpack_data": False}, {"unpack_pivots": False}):
        for a, b in zip(jt.lu_unpack(J(LU), J(piv), **kw), torch.lu_unpack(LU, piv, **kw)):
            assert tuple(a.shape) == tuple(b.shape)
            close(a, b)
    P, L, U = jt.lu_unpack(J(LU), J(piv))
    close(P @ L @ U, A)
    tq = quiet(torch.lu, A, get_infos=True)
    q = jt.lu(J(A), get_infos=True)
    assert len(q) == 3 and len(jt.lu(J(A))) == 2 and len(J(A).lu()) == 2
    for a, b in zip(q, tq):
        close(a, b)


def test_singular_lu():
    Z = torch.zeros(2, 3, 3)
    q = jt.linalg.lu_factor_ex(J(Z))
    np.testing.assert_array_equal(q.info.numpy(), [1, 1])
    with pytest.raises(jt.linalg.LinAlgError, match=r"\(Batch element 0\): U\[1,1\] is zero"):
        jt.linalg.lu_factor(J(Z))
    with pytest.raises(RuntimeError, match="U\\[1,1\\] is zero"):
        jt.lu(J(Z[0]))
    assert int(jt.lu(J(Z[0]), get_infos=True)[2]) == 1
    P, L, U = jt.linalg.lu(J(Z[0]))       # linalg.lu factors singular matrices without complaint
    close(U, torch.linalg.lu(Z[0]).U, "float32")


def test_lu_errors():
    with pytest.raises(RuntimeError, match="LU without pivoting is not implemented on the CPU"):
        jt.linalg.lu_factor(jt.eye(3), pivot=False)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        jt.linalg.lu_factor(jt.ones(3))
    with pytest.raises(TypeError, match="floating point or complex"):
        jt.linalg.lu_factor_ex(jt.ones(3, 3, dtype=jt.int32))
    LU, piv = jt.linalg.lu_factor(jt.eye(3) * 2)
    with pytest.raises(RuntimeError, match="pivots should be a Tensor of scalar type torch.int32"):
        jt.linalg.lu_solve(LU, piv.long(), jt.ones(3, 1))
    with pytest.raises(RuntimeError, match="The input tensor B must have at least 2 dimensions"):
        jt.linalg.lu_solve(LU, piv, jt.ones(3))
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x2\)"):
        jt.linalg.lu_solve(LU, piv, jt.ones(4, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_triangular(dtype):
    A = _well_conditioned((2, 1, 4, 4), dtype)
    B = _rand((3, 4, 2), dtype, 1)
    for upper in (True, False):
        for unit in (True, False):
            for left in (True, False):
                Bb = B if left else B.mT
                r = torch.linalg.solve_triangular(A, Bb, upper=upper, left=left, unitriangular=unit)
                q = jt.linalg.solve_triangular(J(A), J(Bb), upper=upper, left=left, unitriangular=unit)
                assert q.dtype.name == dtype and tuple(q.shape) == tuple(r.shape)
                close(q, r, dtype)


def test_solve_triangular_promotes_and_checks():
    A, B = torch.randn(3, 3) + 3 * torch.eye(3), torch.randn(3, 2, dtype=torch.float64)
    for a, b in ((A, B), (A.double(), B.float())):   # torch's result has A's dtype
        q, r = jt.linalg.solve_triangular(J(a), J(b), upper=True), torch.linalg.solve_triangular(a, b, upper=True)
        assert q.dtype.name == str(r.dtype)[6:]
        close(q, r, "float32")
    with pytest.raises(RuntimeError, match="The input tensor B must have at least 2 dimensions"):
        jt.linalg.solve_triangular(J(A), jt.ones(3), upper=True)
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x2\)"):
        jt.linalg.solve_triangular(J(A), jt.ones(4, 2), upper=True)
    with pytest.raises(RuntimeError, match="must be batches of square matrices"):
        jt.linalg.solve_triangular(jt.ones(3, 4), jt.ones(3, 2), upper=True)
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        jt.linalg.solve_triangular(jt.ones(2, 3, 3), jt.ones(4, 3, 2), upper=True)
    with pytest.raises(TypeError):
        jt.linalg.solve_triangular(jt.ones(3, 3, dtype=jt.int64), jt.ones(3, 2, dtype=jt.int64), upper=True)
    with pytest.raises(TypeError):
        jt.linalg.solve_triangular(J(A), J(B))     # upper is required, as in torch


@pytest.mark.parametrize("dtype", DTYPES)
def test_lu_solve(dtype):
    A = _well_conditioned((2, 3, 3), dtype)
    LU, piv = torch.linalg.lu_factor(A)
    B = _rand((4, 1, 3, 2), dtype, 1)
    for left in (True, False):
        for adjoint in (False, True):
            Bb = B if left else B.mT
            r = torch.linalg.lu_solve(LU, piv, Bb, left=left, adjoint=adjoint)
            q = jt.linalg.lu_solve(J(LU), J(piv), J(Bb), left=left, adjoint=adjoint)
            assert tuple(q.shape) == tuple(r.shape)
            close(q, r, dtype)
    told = quiet(torch.lu_solve, B, LU, piv)
    close(jt.lu_solve(J(B), J(LU), J(piv)), told, dtype)
    close(J(B).lu_solve(J(LU), J(piv)), told, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_triangular_solve_and_cholesky_solve(dtype):
    A = _well_conditioned((2, 3, 3), dtype)
    b = _rand((3, 2), dtype, 1)
    for upper in (True, False):
        for transpose in (False, True):
            r = quiet(torch.triangular_solve, b, A, upper=upper, transpose=transpose)
            q = J(b).triangular_solve(J(A), upper=upper, transpose=transpose)
            close(q.solution, r.solution, dtype)
            close(q.cloned_coefficient, r.cloned_coefficient, dtype)
    S = A @ A.mH + torch.eye(3, dtype=A.dtype)
    L = torch.linalg.cholesky(S)
    close(jt.cholesky_solve(J(b), J(L)), torch.cholesky_solve(b, L), dtype)
    close(J(b).cholesky_solve(J(L.mH), upper=True), torch.cholesky_solve(b, L.mH, upper=True), dtype)
    with pytest.raises(RuntimeError, match="b should have at least 2 dimensions, but has 1 dimensions instead"):
        jt.cholesky_solve(jt.ones(3), J(L))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky_ex(dtype):
    A = _rand((2, 3, 3), dtype)
    S = A @ A.mH + torch.eye(3, dtype=A.dtype)
    for upper in (False, True):
        r, q = torch.linalg.cholesky_ex(S, upper=upper), jt.linalg.cholesky_ex(J(S), upper=upper)
        close(q.L, r.L, dtype)
        np.testing.assert_array_equal(q.info.numpy(), r.info.numpy())
    bad = S.clone()
    bad[1] = -bad[1]
    r, q = torch.linalg.cholesky_ex(bad), jt.linalg.cholesky_ex(J(bad))
    np.testing.assert_array_equal(q.info.numpy(), r.info.numpy())
    close(q.L[0], r.L[0], dtype)
    with pytest.raises(jt.linalg.LinAlgError, match=r"\(Batch element 1\).*not positive-definite"):
        jt.linalg.cholesky_ex(J(bad), check_errors=True)


def test_out_arguments():
    A = torch.randn(3, 3, dtype=torch.float64) + 3 * torch.eye(3, dtype=torch.float64)
    LU, piv = jt.empty(3, 3, dtype=jt.float64), jt.empty(3, dtype=jt.int32)
    res = jt.linalg.lu_factor(J(A), out=(LU, piv))
    assert res.LU is LU
    close(LU, torch.linalg.lu_factor(A).LU)
    X = jt.empty(3, 2, dtype=jt.float64)
    assert jt.linalg.lu_solve(LU, piv, jt.ones(3, 2, dtype=jt.float64), out=X) is X
    close(X, torch.linalg.solve(A, torch.ones(3, 2, dtype=torch.float64)))


def _grads(fn, *tensors):
    """Gradients of sum(fn(...) * weights) w.r.t. every input, jtensor and torch."""
    tj = [J(t).requires_grad_() for t in tensors]
    tt = [t.detach().clone().requires_grad_() for t in tensors]
    outs = []
    for m, args in ((jt, tj), (torch, tt)):
        res = fn(m, *args)
        res = res if isinstance(res, (tuple, list)) else (res,)
        loss = sum((r.abs() if r.is_complex() else r).sin().sum() for r in res)
        loss.backward()
        outs.append([a.grad for a in args])
    return outs


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_gradients_match_torch(dtype):
    A, B = _well_conditioned((2, 3, 3), dtype), _rand((3, 2), dtype, 1)
    cases = [
        (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), A, B),
        (lambda m, a, b: m.linalg.solve_triangular(a, b.mT, upper=False, left=False, unitriangular=True), A, B),
        (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, adjoint=True), A, B),
        (lambda m, a: m.linalg.lu(a)[1:], _rand((4, 3), dtype)),
        (lambda m, a: m.linalg.lu(a)[1:], _rand((2, 3, 5), dtype)),
        (lambda m, a: m.linalg.lu_factor(a)[0], A),
        (lambda m, a, b: m.cholesky_solve(b, m.linalg.cholesky(a @ a.mH)), A, B),
    ]
    for fn, *args in cases:
        (gj, gt) = _grads(fn, *args)
        for a, b in zip(gj, gt):
            close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 4), (3, 5)])
def test_geqrf_and_householder_product(shape, dtype):
    A = _rand(shape, dtype)
    r, q = torch.geqrf(A), jt.geqrf(J(A))
    close(q.a, r.a, dtype)
    close(q.tau, r.tau, dtype)
    close(J(A).geqrf().tau, r.tau, dtype)
    if shape[-2] >= shape[-1]:
        Q = torch.linalg.householder_product(r.a, r.tau)
        close(jt.linalg.householder_product(q.a, q.tau), Q, dtype)
        close(jt.orgqr(q.a, q.tau[..., :1]), torch.orgqr(r.a, r.tau[..., :1]), dtype)
        close(q.a.orgqr(q.tau), Q, dtype)


def test_householder_product_gradient_and_errors():
    A, tau = _rand((2, 5, 3), "float64"), _rand((2, 2), "float64", 1)
    (gj, gt) = _grads(lambda m, a, t: m.linalg.householder_product(a, t), A, tau)
    for a, b in zip(gj, gt):
        close(a, b)
    with pytest.raises(RuntimeError, match="must be greater than or equal to input.shape\\[-1\\]"):
        jt.linalg.householder_product(jt.ones(2, 3), jt.ones(1))
    with pytest.raises(RuntimeError, match="greater than or equal to tau.shape\\[-1\\]"):
        jt.linalg.householder_product(jt.ones(3, 2), jt.ones(3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_ldl_factor_and_solve(dtype):
    A = _rand((2, 4, 4), dtype)
    B = _rand((3, 1, 4, 2), dtype, 1)
    for hermitian in (False, True):
        S = A + (A.mH if hermitian else A.mT)
        r, q = torch.linalg.ldl_factor_ex(S, hermitian=hermitian), jt.linalg.ldl_factor_ex(J(S), hermitian=hermitian)
        close(q.LD, r.LD, dtype)
        np.testing.assert_array_equal(q.pivots.numpy(), r.pivots.numpy())
        np.testing.assert_array_equal(q.info.numpy(), r.info.numpy())
        LD, piv = jt.linalg.ldl_factor(J(S), hermitian=hermitian)
        tol = {"float32": 2e-3, "complex64": 2e-3}.get(dtype, 1e-9)
        # torch's ldl_solve crashes on broadcast batch dims: compare on B expanded to LD's batch
        want = torch.linalg.ldl_solve(r.LD.expand(3, 2, 4, 4).contiguous(), r.pivots.expand(3, 2, 4).contiguous(),
                                      B.expand(3, 2, 4, 2).contiguous(), hermitian=hermitian)
        np.testing.assert_allclose(jt.linalg.ldl_solve(LD, piv, J(B), hermitian=hermitian).numpy(), want.numpy(),
                                   rtol=tol, atol=tol)
    q = jt.linalg.ldl_factor_ex(jt.zeros(3, 3))
    assert int(q.info) == 1
    with pytest.raises(jt.linalg.LinAlgError, match="singular"):
        jt.linalg.ldl_factor(jt.zeros(3, 3))
