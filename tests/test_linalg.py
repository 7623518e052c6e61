"""Linear algebra: einsum/tensordot/products and the jt.linalg namespace, against NumPy and PyTorch."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import jtensor as jt

DTYPES = [np.float32, np.float64, np.complex128]
TOL = {np.float32: 3e-4, np.float64: 1e-9, np.complex128: 1e-9, np.complex64: 3e-4}


def rnd(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def wellcond(shape, dtype=np.float64, seed=0):
    """Random square matrices (last two dims) with a dominant diagonal."""
    n = shape[-1]
    return (rnd(shape, dtype, seed) + 2 * n * np.eye(n)).astype(dtype)


def hpd(shape, dtype=np.float64, seed=0):
    """Hermitian positive-definite matrices."""
    x = rnd(shape, dtype, seed)
    n = shape[-1]
    return (x @ np.conj(np.swapaxes(x, -1, -2)) + n * np.eye(n)).astype(dtype)


def herm(shape, dtype=np.float64, seed=0):
    x = rnd(shape, dtype, seed)
    return (x + np.conj(np.swapaxes(x, -1, -2))).astype(dtype)


def T(x):
    return jt.tensor(np.array(x, order="C"))


def noncontig(x):
    """A tensor equal to x whose last two dims are transposed in memory (a .mT view)."""
    return jt.tensor(np.ascontiguousarray(np.swapaxes(x, -1, -2))).mT


def close(got, exp, dtype=np.float64, tol=None):
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got)
    exp = np.asarray(exp.resolve_conj().resolve_neg().numpy() if isinstance(exp, torch.Tensor) else exp)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    t = TOL[dtype] if tol is None else tol
    scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size else 1.0
    np.testing.assert_allclose(got, exp, rtol=t, atol=t * scale)


def mH(x):
    return np.conj(np.swapaxes(x, -1, -2))


# ---- einsum -----------------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ii->", [(3, 3)]),
    ("ij->ji", [(3, 5)]),
    ("ba", [(3, 5)]),
    ("ij", [(2, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("i,i", [(5,), (5,)]),
    ("i,i->i", [(5,), (5,)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...->...", [(3, 2, 4)]),
    ("ij->", [(3, 4)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("iij->j", [(3, 3, 4)]),
    ("iji->ij", [(3, 4, 3)]),
    ("ij,ij,ij->ij", [(3, 4), (3, 4), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("abc,cd->abd", [(2, 3, 4), (4, 5)]),
    ("i,->i", [(3,), ()]),
    ("ijk,ikl->ijl", [(2, 3, 4), (2, 4, 5)]),
    ("iJ,Jk->ik", [(2, 3), (3, 4)]),
    ("...,...", [(2, 3), (3,)]),
    ("ij,kl->ijkl", [(2, 3), (4, 2)]),
    ("ii,ij->j", [(3, 3), (3, 4)]),
    ("...i,...i", [(2, 4), (3, 1, 4)]),
    (" i j , j k -> i k ", [(2, 3), (3, 2)]),
    ("bij,bkj->bik", [(3, 2, 4), (3, 5, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_table(eq, shapes):
    ops = [rnd(s, seed=i) for i, s in enumerate(shapes)]
    close(jt.einsum(eq, *[T(x) for x in ops]), np.einsum(eq, *ops))


@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64])
def test_einsum_dtypes(dtype):
    a = (rnd((2, 3, 4), seed=1) * 4).astype(dtype)
    b = (rnd((2, 4, 5), seed=2) * 4).astype(dtype)
    r = jt.einsum("bij,bjk->bik", T(a), T(b))
    assert r.dtype == jt.asarray(a).dtype
    close(r, np.einsum("bij,bjk->bik", a, b), dtype if dtype != np.int64 else np.float64)
    close(jt.einsum("ii->", T(a[0, :3, :3])), np.einsum("ii->", a[0, :3, :3]), np.float64 if dtype == np.int64 else dtype)


def test_einsum_forms_and_strides():
    a, b = rnd((3, 4), seed=1), rnd((4, 5), seed=2)
    ref = a @ b
    close(jt.einsum("ij,jk", [T(a), T(b)]), ref)
    close(jt.einsum("ij,jk->ik", (T(a), T(b))), ref)
    close(jt.einsum("ij,jk->ik", noncontig(a), noncontig(b)), ref)
    big = rnd((6, 8), seed=3)
    sl = jt.tensor(big)[::2, 1::2]
    close(jt.einsum("ij->j", sl), big[::2, 1::2].sum(0))
    # A result is new memory, never the input's.
    x = T(a)
    y = jt.einsum("ij->ij", x)
    close(y, a)
    assert y.data_ptr() != x.data_ptr()


def test_einsum_ellipsis_summed_like_torch():
    a = rnd((2, 3, 4))
    close(jt.einsum("...ij->ij", T(a)), torch.einsum("...ij->ij", torch.tensor(a)))
    close(jt.einsum("i,i->i", T(rnd((1,))), T(rnd((3,), seed=2))),
          torch.einsum("i,i->i", torch.tensor(rnd((1,))), torch.tensor(rnd((3,), seed=2))))


@pytest.mark.parametrize("eq,shapes,match", [
    ("ij,jk->ik", [(3, 4)], "operand"),
    ("ij->ij", [(3, 4), (4, 5)], "operand"),
    ("i1->i", [(3, 3)], "invalid subscript"),
    ("ij->ij", [(3, 4, 5)], "number of subscripts"),
    ("ij,jk->ik", [(3, 4), (5, 6)], "broadcast"),
    ("ii->i", [(3, 4)], "repeated"),
    ("ij->k", [(3, 4)], "output subscript k"),
    ("ij->ii", [(3, 3)], "more than once"),
    ("i..j->i", [(3, 3)], "ellipsis"),
])
def test_einsum_errors(eq, shapes, match):
    with pytest.raises(ValueError, match=match) as e:
        jt.einsum(eq, *[T(rnd(s)) for s in shapes])
    assert "einsum" in str(e.value)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_einsum_hypothesis(data):
    eq, sig = data.draw(st.sampled_from([
        ("...ij,...jk->...ik", "(i,j),(j,k)->(i,k)"),
        ("...i,...i->...", "(i),(i)->()"),
        ("...ij,...j->...i", "(i,j),(j)->(i)"),
        ("...ii->...i", "(i,i)->(i)"),
        ("...ij->...", "(i,j)->()"),
        ("...i,...j->...ij", "(i),(j)->(i,j)"),
    ]))
    shapes = data.draw(hnp.mutually_broadcastable_shapes(signature=sig, min_side=0, max_side=4, max_dims=2))
    ops = [rnd(s, seed=k) for k, s in enumerate(shapes.input_shapes)]
    close(jt.einsum(eq, *[T(x) for x in ops]), np.einsum(eq, *ops))


# ---- matmul, mm, bmm, dot, outer ---------------------------------------------------------------------------

MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2)),
                 ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((0, 3), (3, 2)), ((3, 0), (0, 2)), ((2, 3, 4), (1, 4, 0))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int64])
def test_matmul(dtype):
    for k, (sa, sb) in enumerate(MATMUL_SHAPES):
        a, b = (rnd(sa, seed=k) * 3).astype(dtype), (rnd(sb, seed=k + 50) * 3).astype(dtype)
        r = jt.matmul(T(a), T(b))
        assert r.dtype == jt.asarray(a).dtype
        close(r, np.matmul(a, b), dtype if dtype != np.int64 else np.float64)
        if a.ndim >= 2 and b.ndim >= 2:
            close(T(a) @ noncontig(b), a @ b, dtype if dtype != np.int64 else np.float64)
            close(noncontig(a) @ T(b), a @ b, dtype if dtype != np.int64 else np.float64)
    big = rnd((6, 8))
    close(jt.matmul(jt.tensor(big)[::2, 1::2], jt.tensor(big)[1::2, ::2].mT), big[::2, 1::2] @ big[1::2, ::2].T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_matmul_reads_views_in_place(dtype):
    """BLAS reads transposed, sliced and broadcast operands where they lie (julia/src/ops/linalg.jl
    _matmul_strided); every layout must give NumPy's product."""
    a, b = rnd((3, 5, 4), dtype, 1), rnd((3, 4, 6), dtype, 2)
    ja, jb = jt.tensor(a), jt.tensor(b)
    close(ja @ jb, a @ b, dtype)
    close(jb.mT @ ja.mT, np.swapaxes(b, -1, -2) @ np.swapaxes(a, -1, -2), dtype)      # 'T' operands per batch
    close(ja.permute(1, 0, 2) @ jt.tensor(b[0]), a.transpose(1, 0, 2) @ b[0], dtype)  # batch dims that do not fold
    close(ja @ jt.tensor(b[0]), a @ b[0], dtype)                                       # batch folded into one gemm
    close(ja[:, ::2, 1:] @ jb[:, 1:, ::3], a[:, ::2, 1:] @ b[:, 1:, ::3], dtype)       # strided rows and columns
    w = jt.tensor(b[:1]).expand(3, 4, 6)                                               # stride-0 batch
    close(ja @ w, a @ np.broadcast_to(b[:1], (3, 4, 6)), dtype)
    close(ja[0, 1] @ jb[0], a[0, 1] @ b[0], dtype)                                     # vector @ matrix
    close(ja[0] @ jb[0, :, 2], a[0] @ b[0, :, 2], dtype)                               # matrix @ strided vector
    close(ja[:, 0, :] @ jb[:, :, 0].mT, a[:, 0, :] @ b[:, :, 0].T, dtype)              # neither layout: copied
    z = np.zeros((2, 0), dtype)
    close(jt.tensor(z).mT @ jt.tensor(z), np.zeros((0, 0), dtype), dtype)
    close(jt.tensor(z) @ jt.tensor(z).mT, np.zeros((2, 2), dtype), dtype)


def test_matmul_family():
    a, b = rnd((3, 4), seed=1), rnd((4, 5), seed=2)
    close(jt.mm(T(a), T(b)), a @ b)
    close(jt.matmul(T(a), T(b).to(jt.float32)), a @ b, np.float32)          # mixed dtypes promote
    x, y = rnd((2, 3, 4), seed=3), rnd((2, 4, 5), seed=4)
    close(jt.bmm(T(x), T(y)), x @ y)
    u, v = rnd((4,), seed=5), rnd((4,), seed=6)
    close(jt.dot(T(u), T(v)), np.dot(u, v))
    close(jt.outer(T(u), T(rnd((3,), seed=7))), np.outer(u, rnd((3,), seed=7)))
    h = rnd((3, 4), np.float32).astype(np.float16)
    r = jt.matmul(jt.tensor(h), jt.tensor(h.T.copy()))
    assert r.dtype == jt.float16
    close(r, h.astype(np.float32) @ h.T.astype(np.float32), tol=1e-2)
    for f, args in ((jt.matmul, ((3, 4), (5, 6))), (jt.mm, ((3, 4), (4,))), (jt.bmm, ((2, 3, 4), (3, 4, 5))),
                    (jt.dot, ((3,), (4,))), (jt.outer, ((3, 1), (3,)))):
        with pytest.raises(ValueError, match=f.__name__):
            f(*[T(rnd(s)) for s in args])


# ---- tensordot, kron, trace, cross, vecdot, matrix_power, multi_dot -------------------------------------

@pytest.mark.parametrize("sa,sb,dims", [
    ((3, 4, 5), (4, 5, 2), 2),
    ((3, 4), (4, 5), 1),
    ((3, 4), (5, 6), 0),
    ((3, 4, 5), (5, 3, 2), ([0, 2], [1, 0])),
    ((3, 4, 5), (5, 3, 2), ([-1, 0], [0, -2])),
    ((2, 3), (3, 2), ([], [])),
])
def test_tensordot(sa, sb, dims):
    a, b = rnd(sa, seed=1), rnd(sb, seed=2)
    ref = np.tensordot(a, b, axes=dims)
    close(jt.tensordot(T(a), T(b), dims=dims), ref)
    close(jt.linalg.tensordot(T(a), T(b), axes=dims), ref)
    close(jt.tensordot(noncontig(a), T(b), dims), ref)


def test_tensordot_errors():
    with pytest.raises(ValueError, match="tensordot.*contracted dimensions"):
        jt.tensordot(T(rnd((3, 4))), T(rnd((5, 6))), dims=1)
    with pytest.raises(ValueError, match="tensordot"):
        jt.tensordot(T(rnd((3, 4))), T(rnd((4, 6))), dims=3)


def test_kron_trace():
    a, b = rnd((2, 3), seed=1), rnd((4, 1, 2), seed=2)
    close(jt.kron(T(a), T(b)), torch.kron(torch.tensor(a), torch.tensor(b)))
    close(T(a).kron(T(a)), np.kron(a, a))
    close(jt.kron(T(rnd((3,))), T(rnd((2,), seed=1))), np.kron(rnd((3,)), rnd((2,), seed=1)))
    m = rnd((4, 5))
    close(jt.trace(T(m)), np.trace(m))
    close(T(m).trace(), np.trace(m))
    ti = jt.trace(jt.tensor(np.arange(9, dtype=np.int32).reshape(3, 3)))
    assert ti.dtype == jt.int64 and ti.item() == 12
    batch = rnd((2, 4, 5))
    for off in (0, 1, -2):
        close(jt.linalg.trace(T(batch), offset=off), np.linalg.trace(batch, offset=off))
    with pytest.raises(ValueError, match="trace"):
        jt.trace(T(batch))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_vecdot(dtype):
    a, b = rnd((4, 3), dtype, 1), rnd((1, 3), dtype, 2)
    ref = torch.linalg.cross(torch.tensor(a), torch.tensor(b))
    close(jt.linalg.cross(T(a), T(b)), ref, dtype)
    close(jt.cross(T(a), T(b)), ref, dtype)
    c = rnd((3, 5), dtype, 3)
    close(jt.cross(T(c), T(c[::-1]), dim=0), torch.linalg.cross(torch.tensor(c), torch.tensor(c[::-1].copy()), dim=0), dtype)
    x, y = rnd((2, 4, 5), dtype, 4), rnd((4, 5), dtype, 5)
    ref = torch.linalg.vecdot(torch.tensor(x), torch.tensor(y))
    close(jt.linalg.vecdot(T(x), T(y)), ref, dtype)
    close(jt.vecdot(T(x), T(y)), ref, dtype)
    close(jt.linalg.vecdot(T(x), T(y), dim=-2), torch.linalg.vecdot(torch.tensor(x), torch.tensor(y), dim=-2), dtype)
    with pytest.raises(ValueError, match="cross"):
        jt.linalg.cross(T(rnd((4, 2), dtype)), T(rnd((4, 2), dtype)))


def test_matrix_power_multi_dot():
    a = wellcond((2, 3, 3)) / 6
    for n in (0, 1, 2, 5, -1, -3):
        close(jt.matrix_power(T(a), n), np.linalg.matrix_power(a, n))
        close(jt.linalg.matrix_power(T(a), n), np.linalg.matrix_power(a, n))
    ai = np.arange(9).reshape(3, 3)
    r = T(ai).matrix_power(3)
    assert r.dtype == jt.int64
    np.testing.assert_array_equal(r.numpy(), np.linalg.matrix_power(ai, 3))
    with pytest.raises(TypeError, match="matrix_power"):
        jt.matrix_power(T(ai), -1)
    with pytest.raises(ValueError, match="square"):
        jt.matrix_power(T(rnd((2, 3))), 2)
    xs = [rnd((4,), seed=1), rnd((4, 6), seed=2), rnd((6, 2), seed=3), rnd((2, 7), seed=4)]
    close(jt.linalg.multi_dot([T(x) for x in xs]), np.linalg.multi_dot(xs))
    xs[-1] = rnd((2,), seed=5)
    close(jt.linalg.multi_dot([T(x) for x in xs]), np.linalg.multi_dot(xs))
    with pytest.raises(ValueError, match="multi_dot"):
        jt.linalg.multi_dot([T(rnd((2, 3))), T(rnd((4, 2)))])


def test_shape_helpers():
    x = rnd((2, 3, 4))
    close(jt.linalg.matrix_transpose(T(x)), np.swapaxes(x, -1, -2))
    close(jt.linalg.matrix_transpose(noncontig(x)), np.swapaxes(x, -1, -2))
    for off, d1, d2 in [(0, -2, -1), (1, -2, -1), (-1, 0, 2), (2, 2, 1)]:
        close(jt.linalg.diagonal(T(x), offset=off, dim1=d1, dim2=d2),
              torch.linalg.diagonal(torch.tensor(x), offset=off, dim1=d1, dim2=d2))
    u, v = rnd((3,), seed=1), rnd((4,), seed=2)
    close(jt.linalg.outer(T(u), T(v)), np.outer(u, v))
    a, b = rnd((2, 1, 3, 4), seed=1), rnd((5, 4, 2), seed=2)
    close(jt.linalg.matmul(T(a), T(b)), a @ b)
    close(jt.linalg.matmul(noncontig(a), noncontig(b)), a @ b)


# ---- inverses, determinants, solve ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (3,), (2, 1)])
def test_inv_det_slogdet(dtype, batch):
    a = wellcond(batch + (4, 4), dtype)
    for t in (T(a), noncontig(a)):
        r = jt.linalg.inv(t)
        assert r.dtype == t.dtype
        close(r, np.linalg.inv(a), dtype)
        close(jt.linalg.det(t), np.linalg.det(a), dtype)
        s, l = jt.linalg.slogdet(t)
        s_ref, l_ref = np.linalg.slogdet(a)
        close(s, s_ref, dtype)
        close(l, l_ref, dtype)
        assert l.dtype == (jt.float64 if dtype == np.complex128 else t.dtype)
    close(T(a).inverse(), np.linalg.inv(a), dtype)
    close(T(a).det(), np.linalg.det(a), dtype)
    close(jt.logdet(T(a)), torch.logdet(torch.tensor(a)), dtype)
    s2, l2 = jt.slogdet(T(a))
    close(s2, np.linalg.slogdet(a)[0], dtype)
    close(l2, np.linalg.slogdet(a)[1], dtype)


def test_det_special_cases():
    close(jt.linalg.det(T(np.zeros((3, 3)))), 0.0)
    s, l = jt.linalg.slogdet(T(np.zeros((2, 2))))
    assert s.item() == 0 and l.item() == -np.inf
    close(jt.linalg.det(T(np.zeros((0, 0)))), 1.0)
    assert jt.linalg.inv(T(np.zeros((0, 0)))).shape == (0, 0)
    neg = np.diag([-1.0, 2.0])
    assert np.isnan(jt.logdet(T(neg)).item())
    a16 = wellcond((3, 3)).astype(np.float16)
    r = jt.linalg.inv(jt.tensor(a16))
    assert r.dtype == jt.float16
    close(r, np.linalg.inv(a16.astype(np.float32)), tol=5e-3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve(dtype):
    A = wellcond((2, 1, 4, 4), dtype)
    tA = torch.tensor(A)
    cases = [rnd((4,), dtype, 1), rnd((4, 3), dtype, 2), rnd((3, 4, 2), dtype, 3), rnd((1, 3, 4, 2), dtype, 4),
             rnd((2, 1, 4), dtype, 5)]
    for B in cases:
        ref = torch.linalg.solve(tA, torch.tensor(B))
        close(jt.linalg.solve(T(A), T(B)), ref, dtype)
        close(jt.linalg.solve(noncontig(A), T(B)), ref, dtype)
    B = rnd((5, 4), dtype, 6)
    close(jt.linalg.solve(T(A), T(B), left=False), torch.linalg.solve(tA, torch.tensor(B), left=False), dtype)
    close(jt.linalg.solve(T(A[0, 0]), T(rnd((4, 3), dtype, 7))), np.linalg.solve(A[0, 0], rnd((4, 3), dtype, 7)), dtype)


# ---- decompositions -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky(dtype):
    a = hpd((2, 4, 4), dtype)
    junk = a.copy()
    iu = np.triu_indices(4, 1)
    junk[:, iu[0], iu[1]] = 99  # only the lower triangle is read
    L = jt.linalg.cholesky(T(junk))
    close(L, np.linalg.cholesky(a), dtype)
    close(jt.linalg.cholesky(noncontig(a)), np.linalg.cholesky(a), dtype)
    U = jt.linalg.cholesky(T(a), upper=True)
    close(U, mH(np.linalg.cholesky(a)), dtype)
    close(mH(U.numpy()) @ U.numpy(), a, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_qr(dtype, shape):
    a = rnd(shape, dtype)
    m, n = shape[-2:]
    k = min(m, n)
    for mode, (qc, rr) in {"reduced": (k, k), "complete": (m, m)}.items():
        Q, R = jt.linalg.qr(noncontig(a), mode)
        Q, R = Q.numpy(), R.numpy()
        assert Q.shape == shape[:-2] + (m, qc) and R.shape == shape[:-2] + (rr, n)
        close(Q @ R, a, dtype)
        close(mH(Q) @ Q, np.broadcast_to(np.eye(qc), shape[:-2] + (qc, qc)), dtype)
        np.testing.assert_array_equal(np.tril(R, -1), 0)
        R_ref = np.linalg.qr(a, mode)[1]
        close(np.abs(np.diagonal(R, axis1=-2, axis2=-1)), np.abs(np.diagonal(R_ref, axis1=-2, axis2=-1)), dtype)
    Q, R = jt.linalg.qr(T(a), mode="r")
    assert Q.shape == (0,)
    close(np.abs(R.numpy()), np.abs(np.linalg.qr(a, "r")), dtype)
    with pytest.raises(ValueError, match="mode"):
        jt.linalg.qr(T(a), "full")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_svd(dtype, shape):
    a = rnd(shape, dtype)
    m, n = shape[-2:]
    k = min(m, n)
    S_ref = np.linalg.svd(a, compute_uv=False)
    for full in (True, False):
        U, S, Vh = jt.linalg.svd(noncontig(a), full_matrices=full)
        U, S, Vh = U.numpy(), S.numpy(), Vh.numpy()
        assert U.shape == shape[:-2] + ((m, m) if full else (m, k))
        assert Vh.shape == shape[:-2] + ((n, n) if full else (k, n))
        assert not np.iscomplexobj(S)
        close(S, S_ref, dtype)
        close((U[..., :, :k] * S[..., None, :]) @ Vh[..., :k, :], a, dtype)
        cu, rv = U.shape[-1], Vh.shape[-2]
        close(mH(U) @ U, np.broadcast_to(np.eye(cu), shape[:-2] + (cu, cu)), dtype)
        close(Vh @ mH(Vh), np.broadcast_to(np.eye(rv), shape[:-2] + (rv, rv)), dtype)
    close(jt.linalg.svdvals(T(a)), S_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh(dtype):
    a = herm((2, 5, 5), dtype)
    for uplo in ("L", "U"):
        junk = a.copy()
        other = np.triu_indices(5, 1) if uplo == "L" else np.tril_indices(5, -1)
        junk[:, other[0], other[1]] = 42
        w, V = jt.linalg.eigh(T(junk), UPLO=uplo)
        w_ref, V_ref = np.linalg.eigh(junk, UPLO=uplo)
        w, V = w.numpy(), V.numpy()
        assert not np.iscomplexobj(w)
        close(w, w_ref, dtype)
        close((V * w[..., None, :]) @ mH(V), a, dtype)
        # Each eigenvector equals NumPy's up to a unit factor.
        close(np.abs(np.sum(np.conj(V) * V_ref, axis=-2)), np.ones((2, 5)), dtype)
        close(jt.linalg.eigvalsh(T(junk), uplo), w_ref, dtype)
    close(jt.linalg.eigvalsh(noncontig(a)), np.linalg.eigvalsh(a), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_eig(dtype):
    a = rnd((2, 4, 4), dtype)
    w, V = jt.linalg.eig(T(a))
    assert w.dtype in (jt.complex64, jt.complex128) and V.dtype == w.dtype
    w, V = w.numpy(), V.numpy()
    close(a @ V, V * w[..., None, :], dtype)
    w_ref = np.linalg.eigvals(a)
    close(np.sort_complex(w.astype(np.complex128)), np.sort_complex(w_ref.astype(np.complex128)), dtype)
    close(np.sort_complex(jt.linalg.eigvals(noncontig(a)).numpy().astype(np.complex128)),
          np.sort_complex(w_ref.astype(np.complex128)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pinv_rank(dtype):
    a = rnd((2, 5, 3), dtype)
    close(jt.linalg.pinv(T(a)), np.linalg.pinv(a), dtype)
    close(jt.linalg.pinv(noncontig(a)), np.linalg.pinv(a), dtype)
    h = herm((4, 4), dtype)
    close(jt.linalg.pinv(T(h), hermitian=True), np.linalg.pinv(h, hermitian=True), dtype)
    low = rnd((2, 5, 2), dtype, 1) @ rnd((2, 2, 4), dtype, 2)  # rank 2
    r = jt.linalg.matrix_rank(T(low))
    assert r.dtype == jt.int64
    np.testing.assert_array_equal(r.numpy(), [2, 2])
    np.testing.assert_array_equal(jt.linalg.matrix_rank(T(a)).numpy(), [3, 3])
    hl = low[0] @ mH(low[0])
    assert jt.linalg.matrix_rank(T(hl), hermitian=True).item() == 2
    assert jt.linalg.matrix_rank(T(a[0]), atol=1e9).item() == 0
    close(jt.linalg.pinv(T(low), rtol=1e-6), np.linalg.pinv(low, rcond=1e-6), dtype, tol=1e-2 if dtype == np.float32 else None)


# ---- norms ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_norm(dtype):
    x = rnd((3, 4, 5), dtype)
    tx = torch.tensor(x)
    for ord in (2, 1, np.inf, -np.inf, 0, 3.5, -1):
        for dim, keep in ((None, False), (1, False), ((0, 2), True), (-1, True)):
            r = jt.linalg.vector_norm(T(x), ord, dim, keep)
            close(r, torch.linalg.vector_norm(tx, ord, dim, keep), dtype)
            assert r.dtype == (jt.float64 if dtype == np.complex128 else jt.asarray(x).dtype)
    close(jt.linalg.vector_norm(noncontig(x)), np.linalg.norm(x.ravel()), dtype)
    close(jt.linalg.norm(T(x)), np.linalg.norm(x.ravel()), dtype)
    close(jt.linalg.norm(T(x), 1, dim=1), np.linalg.norm(x, 1, axis=1), dtype)
    close(jt.linalg.norm(T(x[0, 0]), np.inf), np.linalg.norm(x[0, 0], np.inf), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_norm(dtype):
    x = rnd((2, 4, 3), dtype)
    tx = torch.tensor(x)
    for ord in ("fro", "nuc", np.inf, -np.inf, 1, -1, 2, -2):
        close(jt.linalg.matrix_norm(T(x), ord), torch.linalg.matrix_norm(tx, ord), dtype)
        close(jt.linalg.matrix_norm(noncontig(x), ord), torch.linalg.matrix_norm(tx, ord), dtype)
        close(jt.linalg.matrix_norm(T(x), ord, dim=(2, 0), keepdim=True),
              torch.linalg.matrix_norm(tx, ord, dim=(2, 0), keepdim=True), dtype)
        close(jt.linalg.norm(T(x), ord, dim=(-1, -2)), np.linalg.norm(x, ord, axis=(-1, -2)), dtype)
        close(jt.linalg.norm(T(x[1]), ord), np.linalg.norm(x[1], ord), dtype)
    a = wellcond((4, 4), dtype)
    for p in (None, "fro", "nuc", np.inf, -np.inf, 1, -1, 2, -2):
        close(jt.linalg.cond(T(a), p), np.linalg.cond(a, p), dtype, tol=1e-3 if dtype == np.float32 else None)
    assert jt.linalg.cond(T(np.zeros((2, 2))), 1).item() == np.inf


def test_norm_errors():
    x = T(rnd((3, 4)))
    with pytest.raises(ValueError, match="Order"):
        jt.linalg.matrix_norm(x, 3)
    with pytest.raises(ValueError, match="linalg.norm"):
        jt.linalg.norm(T(rnd((2, 3, 4))), 2)
    with pytest.raises(ValueError, match="vector norms"):
        jt.linalg.norm(T(rnd((4,))), "fro")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        jt.linalg.matrix_norm(T(rnd((4,))))
    with pytest.raises(TypeError, match="linalg.vector_norm"):
        jt.linalg.vector_norm(jt.tensor([1, 2, 3]))


# ---- errors ---------------------------------------------------------------------------------------------

def test_linalg_error_class():
    assert issubclass(jt.linalg.LinAlgError, RuntimeError)
    sing = T(np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(jt.linalg.LinAlgError, match="linalg.inv.*singular"):
        jt.linalg.inv(sing)
    with pytest.raises(jt.linalg.LinAlgError, match="Batch element 1"):
        jt.linalg.inv(T(np.stack([np.eye(2), np.zeros((2, 2))])))
    with pytest.raises(jt.linalg.LinAlgError, match="linalg.solve.*singular"):
        jt.linalg.solve(sing, T(np.ones(2)))
    with pytest.raises(jt.linalg.LinAlgError, match="linalg.cholesky.*positive-definite"):
        jt.linalg.cholesky(T(-np.eye(3)))
    with pytest.raises(RuntimeError):
        jt.matrix_power(sing, -1)


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "eig"])
def test_nonsquare_and_dims(name):
    f = getattr(jt.linalg, name)
    with pytest.raises(ValueError, match=f"linalg.{name}.*square.*3 by 4"):
        f(T(rnd((3, 4))))
    with pytest.raises(ValueError, match=f"linalg.{name}.*at least 2 dimensions"):
        f(T(rnd((3,))))
    with pytest.raises(TypeError, match=f"linalg.{name}.*floating point or complex"):
        f(jt.tensor(np.eye(3, dtype=np.int64)))


def test_solve_errors():
    with pytest.raises(ValueError, match="linalg.solve.*Incompatible"):
        jt.linalg.solve(T(wellcond((3, 3))), T(rnd((4, 2))))
    with pytest.raises(ValueError, match="linalg.solve"):
        jt.linalg.solve(T(wellcond((2, 3, 3))), T(rnd((4, 3, 1))))
    with pytest.raises(ValueError, match="linalg.solve.*square"):
        jt.linalg.solve(T(rnd((3, 4))), T(rnd((3,))))
    with pytest.raises(TypeError, match="linalg.svd"):
        jt.linalg.svd(jt.tensor([[1, 2], [3, 4]]))
