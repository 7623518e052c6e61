"""The PyTorch API around the ops, against torch as the oracle: `Tensor.data`, in-place view ops,
resize_/set_, strided constructors, predicates and function forms (python/jtensor/rebind.py,
tensor_api.py), aliases and in-place forms published from ops.py's table, order statistics and
scans (order_stats.py), matrix builders, windows and flat-index writes (matrix_builders.py), the
torch-level nn functions (nn_functions.py) and the global switches (switches.py). Gradients of
the differentiable ones are rows of tests/test_gradients.py; tests/test_api_coverage.py counts what
is still missing over the whole namespace.
"""
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt

R = np.random.default_rng(11)
X = R.normal(size=(3, 5))
XN = X.copy()
XN[0, 2] = np.nan
I = np.array([[1, 2, 2, 3, 1], [0, 0, 1, 1, 5], [4, 4, 4, 2, 2]])
S = R.normal(size=(3, 3)) * 0.8
B, C = R.normal(size=(4, 3, 2)), R.normal(size=(4, 2, 3))
P = np.abs(R.normal(size=(2, 3))) + 0.1
B32, W, PS = B.astype(np.float32), R.normal(size=(2, 3, 2)), R.normal(size=(1, 4, 2, 2))


def O(m, *shape):
    """float64 ones (the dtype of the tensors made from the float64 arrays above)."""
    return m.ones(*shape, dtype=m.float64)


def same(j, t, tol=1e-6):
    """jtensor's result equals torch's: structure, shape, dtype, values (NaN == NaN)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(j, (tuple, list)) and len(j) == len(t), (j, t)
        for a, b in zip(j, t):
            same(a, b, tol)
        return
    if not isinstance(t, torch.Tensor):
        assert j == t, (j, t)
        return
    t = t.resolve_conj()
    assert tuple(j.shape) == tuple(t.shape), (j.shape, t.shape)
    assert j.dtype.name == str(t.dtype).split(".")[-1], (j.dtype, t.dtype)
    np.testing.assert_allclose(j.numpy(), t.numpy(), rtol=tol, atol=tol, equal_nan=True)


CALLS = [
    # function forms, predicates, small methods
    lambda m: m.clone(m.tensor(X)), lambda m: m.detach(m.tensor(X)), lambda m: m.t(m.tensor(X)),
    lambda m: m.t(m.tensor([1, 2])), lambda m: m.ravel(m.tensor(X).t()), lambda m: m.broadcast_to(m.ones(3), (2, 3)),
    lambda m: m.select(m.tensor(X), 1, -1), lambda m: m.is_floating_point(m.ones(2)),
    lambda m: m.is_complex(m.ones(2)), lambda m: m.is_nonzero(m.tensor([0.0])), lambda m: m.tensor([[3]]).is_nonzero(),
    lambda m: m.is_same_size(m.ones(2, 3), m.zeros(2, 3)), lambda m: m.ones(2).is_same_size(m.ones(3)),
    lambda m: [m.ones(1, dtype=d).is_signed() for d in (m.uint8, m.bool, m.int8, m.float16, m.complex64)],
    lambda m: m.is_signed(m.ones(1)), lambda m: m.ones(2, 3, 4).ndimension(),
    lambda m: m.ones(2).where(m.tensor([True, False]), m.zeros(2)), lambda m: m.tensor(X).where(m.tensor(X) > 0, -1.0),
    lambda m: m.tensor([[1 + 2j, 3j]]).H, lambda m: m.tensor(X).H, lambda m: m.adjoint(m.tensor(B)),
    lambda m: m.argwhere(m.tensor(I) > 2), lambda m: m.positive(m.tensor(X)),
    lambda m: m.isreal(m.tensor([1 + 0j, 2j])), lambda m: m.isreal(m.tensor([1, 2])),
    lambda m: m.isposinf(m.tensor([np.inf, -np.inf, 1.0, np.nan])), lambda m: m.isneginf(m.tensor([np.inf, -np.inf])),
    lambda m: (m.is_conj(m.ones(1)), m.is_neg(m.ones(1)), m.ones(1).is_inference()),
    lambda m: m.resolve_conj(m.tensor(X)), lambda m: m.tensor(X).resolve_neg(),
    lambda m: [getattr(m.tensor([1.7, -2.2]), c)() for c in ("byte", "char", "short", "cfloat", "cdouble")],
    lambda m: m.ones(2).get_device(), lambda m: m.ones(2).is_pinned(),
    lambda m: m.scalar_tensor(3), lambda m: m.scalar_tensor(2.5, dtype=m.float64),
    lambda m: m.randint_like(m.ones(2, 3), 5).shape, lambda m: m.randint_like(m.ones(4, dtype=m.int32), 3, 5).dtype == m.int32,
    lambda m: m.empty_strided((2, 3), (1, 2)).stride(), lambda m: m.ones(2).new_empty_strided((2, 2), (1, 2)).stride(),
    lambda m: m.empty_strided((2, 0), (1, 1)).shape, lambda m: m.ones(2, dtype=m.int16).new_empty_strided((3,), (2,)).dtype == m.int16,
    # aliases and their in-place forms
    lambda m: (m.tensor(X).arcsinh(), m.arccosh(m.tensor(P) + 1), m.tensor(X / 4).arctanh_(), m.tensor(X).fix()),
    lambda m: (m.tensor(X).subtract(1.5), m.tensor(X).multiply_(2), m.tensor(X).divide(3), m.tensor(X).true_divide_(2)),
    lambda m: (m.tensor(X).negative(), m.tensor(X).absolute_(), m.tensor(X).clip(-1, 1), m.tensor(X).clip_(max=0.5)),
    lambda m: (m.tensor(I).greater(2), m.tensor(I).less_equal(1), m.tensor(X).not_equal(m.tensor(X).t().t()),
               m.tensor(X).greater_equal_(0), m.tensor(X).less_(0)),
    lambda m: (m.exp_(m.tensor(X)), m.sqrt_(m.tensor(P)), m.sigmoid_(m.tensor(X)), m.clamp_(m.tensor(X), 0),
               m.fix_(m.tensor(X)), m.arcsin_(m.tensor(X / 4)), m.negative_(m.tensor(X)), m.clip_(m.tensor(X), 0, 1)),
    lambda m: (m.clamp_min(m.tensor(X), 0.2), m.tensor(I).clamp_max(2), m.tensor(X).clamp_min_(0),
               m.clamp_max_(m.tensor(X), -0.1)),
    # splits and stacks
    lambda m: m.split_with_sizes(m.tensor(X), [1, 4], 1), lambda m: m.tensor(X).split_with_sizes([2, 1]),
    lambda m: m.hsplit(m.tensor(X), [1, 3]), lambda m: m.hsplit(m.arange(6), 3), lambda m: m.vsplit(m.tensor(X), 3),
    lambda m: m.dsplit(m.tensor(B.reshape(4, 2, 3)), [1]), lambda m: m.tensor(B).vsplit([1, 2]),
    lambda m: m.dstack([m.tensor(X), m.tensor(X)]), lambda m: m.dstack([m.ones(3), m.zeros(3)]),
    lambda m: m.column_stack([m.tensor(1.0), m.ones(1), m.ones(1, 2)]), lambda m: m.row_stack([m.ones(3), m.zeros(2, 3)]),
    # embeddings into a copy
    lambda m: m.select_scatter(m.tensor(X), O(m, 5), 0, 1), lambda m: m.tensor(X).select_scatter(O(m, 3), 1, -2),
    lambda m: m.slice_scatter(m.tensor(X), O(m, 3, 2), 1, 1, 5, 2), lambda m: m.slice_scatter(m.tensor(X), O(m, 1, 5), 0, 2),
    lambda m: m.diagonal_scatter(m.tensor(X), O(m, 3), 1), lambda m: m.diagonal_scatter(m.tensor(X), O(m, 2), -1),
    lambda m: m.diagonal_scatter(m.tensor(B), O(m, 3, 2), 0, 0, 2),
    # order statistics and scans
    lambda m: m.cummax(m.tensor(XN), 1), lambda m: m.cummin(m.tensor(I), 1), lambda m: m.tensor(I).cummax(0),
    lambda m: m.cummin(m.tensor(XN), 0), lambda m: m.cummax(m.tensor(2.0), 0), lambda m: m.cummin(m.ones(0, 3), 0),
    lambda m: m.logcumsumexp(m.tensor(X), 1), lambda m: m.tensor(X * 50).logcumsumexp(0),
    lambda m: m.logcumsumexp(m.tensor([-np.inf, -np.inf, 0.0]), 0),
    lambda m: m.kthvalue(m.tensor(X), 2, 1), lambda m: m.tensor(X).kthvalue(3, 0, True), lambda m: m.kthvalue(m.tensor(X), 1),
    lambda m: m.msort(m.tensor(X)), lambda m: m.mode(m.tensor(I), 1), lambda m: m.mode(m.tensor(I), 0, True),
    lambda m: m.tensor(I).mode(), lambda m: m.aminmax(m.tensor(X)), lambda m: m.aminmax(m.tensor(X), dim=1, keepdim=True),
    lambda m: m.tensor(I).aminmax(dim=0),
    lambda m: m.histc(m.tensor(X), bins=4), lambda m: m.histc(m.tensor(X), bins=5, min=-1, max=1),
    lambda m: m.tensor(X, dtype=m.float64).histc(3, 0, 0), lambda m: m.histc(m.ones(3), 2),
    lambda m: m.bucketize(m.tensor(X), m.tensor([-1.0, 0.0, 1.0])),
    lambda m: m.bucketize(m.tensor(I), m.tensor([1, 2, 4]), right=True, out_int32=True),
    lambda m: m.isin(m.tensor(I), m.tensor([1, 4])), lambda m: m.isin(m.tensor(I), 2, invert=True),
    lambda m: m.isin(m.tensor([1.0, 2.5]), m.tensor([], dtype=m.float32)),
    lambda m: m.unique_consecutive(m.tensor([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True, return_counts=True),
    lambda m: m.unique_consecutive(m.tensor([[1, 1, 2], [1, 1, 2]]), return_counts=True, dim=1),
    lambda m: m.tensor(I).unique_consecutive(), lambda m: m.unique_consecutive(m.tensor(I), return_inverse=True, dim=0),
    # matrix builders
    lambda m: m.block_diag(m.tensor(X), m.tensor([1, 2]), m.tensor(3.0)), lambda m: m.block_diag(m.ones(2, 2, dtype=m.int32)),
    lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3, 4, 5])), lambda m: m.cartesian_prod(m.tensor([1.0, 2.0])),
    lambda m: m.combinations(m.tensor([1, 2, 3, 4]), 3), lambda m: m.combinations(m.tensor([1.0, 2, 3]), with_replacement=True),
    lambda m: m.combinations(m.tensor([1, 2]), 3),
    lambda m: m.diagflat(m.tensor(S), 1), lambda m: m.tensor([1, 2]).diagflat(-1),
    *[(lambda k: lambda m: m.rot90(m.tensor(B), k, [1, 2]))(k) for k in range(-1, 5)],
    lambda m: m.tensor(X).rot90(), lambda m: m.vander(m.tensor([1, 2, 3])), lambda m: m.vander(m.tensor([1.0, 2, 3]), 4, True),
    lambda m: m.vander(m.tensor([1, 2], dtype=m.int32), 0),
    lambda m: m.cov(m.tensor(X)), lambda m: m.tensor(X).cov(correction=0),
    lambda m: m.cov(m.tensor(X), fweights=m.tensor([1, 2, 1, 3, 1]), aweights=m.tensor([0.5, 1, 2, 1, 1.0])),
    lambda m: m.cov(m.tensor(X[0])), lambda m: m.cov(m.tensor(I)), lambda m: m.corrcoef(m.tensor(X)),
    lambda m: m.tensor(X).corrcoef(),
    lambda m: m.trapezoid(m.tensor(X)), lambda m: m.trapezoid(m.tensor(X), dx=0.5, dim=0),
    lambda m: m.trapezoid(m.tensor(X), m.tensor([0.0, 1, 3, 4, 7])), lambda m: m.trapz(m.tensor(X), m.tensor([0.0, 1, 3, 4, 7])),
    lambda m: m.trapz(m.tensor(X), dx=2.0, dim=0), lambda m: m.cumulative_trapezoid(m.tensor(X), dx=2.0),
    lambda m: m.cumulative_trapezoid(m.tensor(X), m.tensor([0.0, 1, 3, 4, 7])),
    *[(lambda w, n, p: lambda m: getattr(m, w)(n, p))(w, n, p)
      for w in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window")
      for n in (0, 1, 5, 8) for p in (True, False)],
    lambda m: m.hamming_window(6, False, 0.5, 0.5, dtype=m.float64), lambda m: m.kaiser_window(7, True, 5.0, dtype=m.float64),
    lambda m: m.renorm(m.tensor(X), 2, 0, 1.0), lambda m: m.tensor(X).renorm(1, 1, 0.5),
    lambda m: m.tensor(X).renorm_(3, 0, 0.8),
    lambda m: m.dist(m.tensor(X), m.tensor(X[0])), lambda m: m.dist(m.tensor(X), m.tensor(X[0]), 3),
    lambda m: m.tensor(X).dist(m.zeros(5), float("inf")),
    lambda m: m.vdot(m.tensor([1 + 2j, 3j]), m.tensor([2 - 1j, 1 + 1j])), lambda m: m.tensor([1.0, 2]).vdot(m.tensor([3.0, 4])),
    lambda m: m.addr(m.tensor(S), m.tensor([1.0, 2, 3]), m.tensor([1.0, 0, 1]), beta=2, alpha=0.5),
    lambda m: m.tensor(S).addr_(m.tensor([1.0, 2, 3]), m.tensor([1.0, 0, 1])),
    lambda m: m.addbmm(m.tensor(S), m.tensor(B), m.tensor(C)), lambda m: m.tensor(S).addbmm_(m.tensor(B), m.tensor(C), beta=0),
    lambda m: m.chain_matmul(m.tensor(S), m.tensor(S), m.tensor(X)),
    lambda m: m.matrix_exp(m.tensor(S)), lambda m: m.linalg.matrix_exp(m.tensor(np.stack([S, S.T]))),
    lambda m: m.tensor(S * 10).matrix_exp(),
    lambda m: m.zeros(5, 3).fill_diagonal_(2.0), lambda m: m.zeros(7, 3).fill_diagonal_(2.0, wrap=True),
    lambda m: m.zeros(3, 3, 3).fill_diagonal_(1), lambda m: m.zeros(3, 5).fill_diagonal_(-1),
    lambda m: m.zeros(3, 4).put_(m.tensor([0, 5, -1]), m.tensor([1.0, 2, 3])),
    lambda m: m.zeros(3, 4).put_(m.tensor([0, 5, 0]), m.tensor([1.0, 2, 3]), accumulate=True),
    lambda m: m.zeros(3, 4).t().put_(m.tensor([0, 5]), m.tensor([1.0, 2])),
    lambda m: m.put(m.tensor(X), m.tensor([[1, 2]]), O(m, 2)),
    lambda m: m.zeros(3, 4).index_put_((m.tensor([0, 2, 0]),), m.tensor(1.0), accumulate=True),
    lambda m: m.zeros(3, 4).index_put((m.tensor([0, 2, 0]), m.tensor([1, 1, 1])), m.tensor([1.0, 2, 3]), accumulate=True),
    lambda m: m.index_put(m.zeros(3, 4), (m.tensor([0, 2]), m.tensor([1, 3])), m.tensor([1.0, 2])),
    lambda m: m.zeros(3, 4).index_put_((m.tensor([True, False, True]),), m.ones(4), accumulate=True),
    # copies of views, unsafe splits, complex views, small function forms
    lambda m: (m.permute_copy(m.tensor(B), (2, 0, 1)), m.t_copy(m.tensor(X)), m.diagonal_copy(m.tensor(S), 1),
               m.expand_copy(m.ones(3, 1), (3, 2)), m.select_copy(m.tensor(X), 1, 0), m.squeeze_copy(m.ones(2, 1)),
               m.transpose_copy(m.tensor(B), 0, 2), m.unsqueeze_copy(m.ones(2), 0), m.view_copy(m.tensor(X), (5, 3)),
               m.unfold_copy(m.arange(6.0), 0, 2, 2), m.detach_copy(m.tensor(X)), m.alias_copy(m.tensor(X)),
               m.as_strided_copy(m.tensor(X), (2, 2), (1, 2)), m.narrow_copy(m.tensor(X), 1, 1, 2),
               m.tensor(X).narrow_copy(0, 1, 1)),
    lambda m: (m.split_copy(m.arange(5), 2), m.split_with_sizes_copy(m.arange(5), [2, 3]), m.unbind_copy(m.tensor(S), 1)),
    lambda m: (m.unsafe_chunk(m.arange(5), 2), m.tensor(X).unsafe_split(2, 1), m.unsafe_split_with_sizes(m.arange(4), [1, 3])),
    lambda m: m.view_as_real(m.tensor([1 + 2j, 3 - 1j])), lambda m: m.view_as_real(m.tensor([[1 + 2j, 3j]]).t()),
    lambda m: m.view_as_complex(m.tensor(X[:, :4]).reshape(3, 2, 2)),
    lambda m: m.complex(m.tensor(X), m.tensor(X) * 2), lambda m: m.polar(m.tensor(P), m.tensor(P) * 3),
    lambda m: (m.rsub(m.tensor(X), 3, alpha=2), m.rsub(m.tensor(I), m.tensor(I) * 2), m.fill(m.tensor(X), 7),
               m.ger(m.tensor([1.0, 2]), m.tensor([3.0, 4, 5])), m.tensor([1, 2]).ger(m.tensor([3, 4]))),
    lambda m: (m.ones(2, 2, dtype=m.float64).addmm_(m.tensor(X[:2, :3]), m.tensor(X[:3, :2]), beta=2),
               m.addmv_(m.ones(2, dtype=m.float64), m.tensor(X[:2]), m.tensor(X[0])),
               m.ones(4, 3, 3, dtype=m.float64).baddbmm_(m.tensor(B), m.tensor(C), alpha=0.5, beta=0)),
    lambda m: (m.zero_(m.tensor(X)), m.as_strided(m.tensor(X), (2,), (3,)), m.nan_to_num_(m.tensor(XN)),
               m.index_put_(m.zeros(3), (m.tensor([1]),), m.tensor([2.0])), m.resize_as_(m.ones(4), m.ones(2, 2)).shape),
    lambda m: [getattr(m.ones(1), p) for p in ("is_sparse", "is_sparse_csr", "is_quantized", "is_mkldnn", "is_nested",
                                                "is_xla", "is_xpu", "is_mps", "is_ipu", "is_maia", "is_mtia", "is_vulkan")],
    # torch-level nn functions
    lambda m: m.batch_norm(m.tensor(B32), m.ones(3), m.zeros(3), m.zeros(3), m.ones(3), False, 0.1, 1e-5, False),
    lambda m: m.instance_norm(m.tensor(B32), None, None, None, None, True, 0.1, 1e-5, False),
    lambda m: m.embedding(m.tensor(X), m.tensor([[0, 2], [1, 1]])), lambda m: m.embedding(m.tensor(X), m.tensor([0, 2]), 2),
    lambda m: m.adaptive_max_pool1d(m.tensor(B), 2), lambda m: m.layer_norm(m.tensor(B), (2,)),
    lambda m: m.conv1d(m.tensor(B), m.tensor(W)), lambda m: m.pdist(m.tensor(X)), lambda m: m.dropout(m.tensor(X), 0.5, False),
    lambda m: m.pixel_shuffle(m.tensor(PS), 2), lambda m: m.cosine_similarity(m.tensor(X), m.tensor(X) + 1),
    lambda m: m.max_pool1d(m.tensor(B), 2), lambda m: m.prelu(m.tensor(B32), m.tensor([0.25])),
]


@pytest.mark.parametrize("call", CALLS)
def test_matches_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(call(jt), call(torch), 1e-6)


def both_raise(exc, call):
    with pytest.raises(exc):
        call(torch)
    with pytest.raises(exc):
        call(jt)


@pytest.mark.parametrize("call, exc", [
    (lambda m: m.ones(2).is_nonzero(), RuntimeError), (lambda m: m.ones(0).is_nonzero(), RuntimeError),
    (lambda m: m.ones(3, requires_grad=True).unsqueeze_(0), RuntimeError),
    (lambda m: m.ones(2, 3).resize_(-1), RuntimeError), (lambda m: m.ones(2).set_(m.ones(2, dtype=m.int64)), RuntimeError),
    (lambda m: m.ones(2).pin_memory(), RuntimeError), (lambda m: m.ones(3).H, RuntimeError),
    (lambda m: m.positive(m.ones(2, dtype=m.bool)), RuntimeError),
    (lambda m: m.hsplit(m.ones(2, 5), 2), RuntimeError), (lambda m: m.vsplit(m.ones(4), 2), RuntimeError),
    (lambda m: m.select_scatter(m.ones(2, 3), m.ones(2), 0, 0), RuntimeError),
    (lambda m: m.kthvalue(m.ones(3), 4), RuntimeError), (lambda m: m.histc(m.ones(3, dtype=m.int64)), RuntimeError),
    (lambda m: m.histc(m.ones(3), 2, 1, 0), RuntimeError), (lambda m: m.bucketize(m.ones(2), m.ones(2, 2)), RuntimeError),
    (lambda m: m.block_diag(m.ones(1, 1, 1)), RuntimeError), (lambda m: m.combinations(m.ones(2, 2)), RuntimeError),
    (lambda m: m.rot90(m.ones(2, 2), 1, [0, 0]), RuntimeError), (lambda m: m.vander(m.ones(2, 2)), RuntimeError),
    (lambda m: m.cov(m.ones(2, 2, 2)), RuntimeError), (lambda m: m.hann_window(-1), RuntimeError),
    (lambda m: m.hann_window(3, dtype=m.int64), RuntimeError), (lambda m: m.renorm(m.ones(3), 2, 0, 1.0), RuntimeError),
    (lambda m: m.vdot(m.ones(2), m.ones(2, dtype=m.float64)), RuntimeError), (lambda m: m.vdot(m.ones(2, 2), m.ones(2)), RuntimeError),
    (lambda m: m.addr(m.ones(2, 2), m.ones(2, 1), m.ones(2)), RuntimeError),
    (lambda m: m.matrix_exp(m.ones(2, 3)), RuntimeError), (lambda m: m.ones(3).fill_diagonal_(1), RuntimeError),
    (lambda m: m.ones(2, 3, 3).fill_diagonal_(1), RuntimeError),
    (lambda m: m.ones(3).put_(m.tensor([0, 1]), m.ones(3)), IndexError),
    (lambda m: m.ones(3).put_(m.tensor([5]), m.ones(1)), IndexError),
    (lambda m: m.use_deterministic_algorithms(1), TypeError),
])
def test_errors_match_torch(call, exc):
    both_raise(exc, call)


def test_data_is_a_detached_view_and_rebinds_on_set():
    for m in (jt, torch):
        p = m.ones(3, requires_grad=True)
        d = p.data
        assert not d.requires_grad and d.data_ptr() == p.data_ptr()
        p.data.mul_(2)                      # optimizers update parameters this way, outside autograd
        assert p.tolist() == [2.0, 2.0, 2.0] and p.requires_grad and p.is_leaf
        (p * p).sum().backward()            # d's version bump is not seen by autograd
        assert p.grad.tolist() == [4.0, 4.0, 4.0]
        new = m.arange(4.0).reshape(2, 2)
        p.data = new                        # rebinds p's storage (shape too): p now shares new's memory
        assert tuple(p.shape) == (2, 2) and p.requires_grad and p.data_ptr() == new.data_ptr()
        new[0, 0] = 7.0
        assert p[0, 0].item() == 7.0


def test_inplace_views_rebind_geometry_and_record_autograd():
    for m in (jt, torch):
        t = m.arange(6.0).reshape(2, 3)
        u = t
        t.t_()
        assert u is t and tuple(t.shape) == (3, 2) and t.stride() == (1, 3)
        t.unsqueeze_(0).transpose_(0, 2).squeeze_(2)
        assert tuple(t.shape) == (2, 3) and t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        t.swapaxes_(0, 1).swapdims_(1, 0)
        assert tuple(t.shape) == (2, 3)
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.unsqueeze_(1).t_()
        (y * m.tensor([[1.0, 2.0, 3.0]])).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_resize_and_set_keep_or_grow_storage():
    for m in (jt, torch):
        r = m.arange(4.0)
        r.resize_(2, 3)
        assert tuple(r.shape) == (2, 3) and r.flatten()[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
        r.resize_(2)
        assert r.tolist() == [0.0, 1.0]
        r.resize_as_(m.ones(1, 1))
        assert tuple(r.shape) == (1, 1)
        src = m.arange(6.0)
        s = m.zeros(1)
        s.set_(src)
        assert s.data_ptr() == src.data_ptr() and s.is_set_to(src)
        s.set_(src, 1, (2, 2), (2, 1))
        assert s.tolist() == [[1.0, 2.0], [3.0, 4.0]]
        assert tuple(s.set_().shape) == (0,)
        a = m.ones(2, 2)
        b = m.zeros(2)
        a.as_strided_((2,), (3,))
        assert a.tolist() == [1.0, 1.0] and b.as_strided_((1,), (1,), 1).tolist() == [0.0]


def test_share_memory_and_device_queries():
    for m in (jt, torch):
        t = m.ones(2)
        assert not t.is_shared() and t.share_memory_() is t and t.is_shared()
        assert t.get_device() == -1 and not t.is_pinned()


def test_set_default_tensor_type_warns():
    with pytest.warns(UserWarning, match="deprecated"):
        jt.set_default_tensor_type("torch.FloatTensor")


def test_switches_round_trip():
    for m in (jt, torch):
        m.use_deterministic_algorithms(True, warn_only=True)
        assert m.are_deterministic_algorithms_enabled() and m.is_deterministic_algorithms_warn_only_enabled()
        assert m.get_deterministic_debug_mode() == 1
        m.set_deterministic_debug_mode("error")
        assert m.get_deterministic_debug_mode() == 2
        m.use_deterministic_algorithms(False)
        assert not m.are_deterministic_algorithms_enabled()
        m.set_float32_matmul_precision("high")
        assert m.get_float32_matmul_precision() == "high"
        m.set_float32_matmul_precision("highest")
        with pytest.warns(UserWarning, match="no effect"):
            m.set_float32_matmul_precision("low")
        assert m.get_float32_matmul_precision() == "highest"
        m.set_anomaly_enabled(True)
        assert m.is_anomaly_enabled() and m.is_anomaly_check_nan_enabled()
        m.set_anomaly_enabled(False)
        m.set_warn_always(True)
        assert m.is_warn_always_enabled()
        m.set_warn_always(False)
        assert not m.is_inference_mode_enabled()
        with m.inference_mode():
            assert m.is_inference_mode_enabled() and not m.is_grad_enabled()
        with m.inference_mode(False):
            assert not m.is_inference_mode_enabled() and m.is_grad_enabled()
        assert m.typename(m.ones(1)) == "torch.FloatTensor" and m.typename(m.ones(1, dtype=m.int64)) == "torch.LongTensor"
        assert m.typename(3) == "int" and not m.is_storage(m.ones(1))
        with warnings.catch_warnings():   # deprecated: torch warns once per process, jtensor every call
            warnings.simplefilter("ignore")
            m.set_default_tensor_type("torch.DoubleTensor")
            assert m.ones(1).dtype == m.float64
            m.set_default_tensor_type("torch.FloatTensor")
        assert m.ones(1).dtype == m.float32


def test_set_printoptions_matches_torch():
    x = np.array([1.23456789, 200.5, 0.001])
    try:
        for opts in ({"precision": 2}, {"sci_mode": True}, {"sci_mode": False, "precision": 6}, {"profile": "short"},
                     {"threshold": 5, "edgeitems": 1}, {"linewidth": 20}):
            for m in (jt, torch):
                m.set_printoptions(profile="default")
                m.set_printoptions(**opts)
            big = np.arange(12.0) + 0.5
            for v in (x, big):
                assert repr(jt.tensor(v)).replace("jtensor.", "torch.") == repr(torch.tensor(v)), opts
    finally:
        jt.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


# ---- div / divide with rounding_mode (composites.py) ------------------------------------------------------
@pytest.mark.parametrize("dt", ["int64", "int32", "float32", "float64"])
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_mode_matches_torch(dt, mode):
    a = np.array([7, -7, 6, -6, 5, 0, -1]).astype(dt)
    b = np.array([2, 2, -4, -4, 5, 3, 3]).astype(dt)
    for fn in ("div", "divide"):
        got = getattr(jt, fn)(jt.tensor(a), jt.tensor(b), rounding_mode=mode)
        want = getattr(torch, fn)(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = jt.tensor(a).div(3, rounding_mode=mode)
    want = torch.tensor(a).div(3, rounding_mode=mode)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    if mode is not None or dt.startswith("float"):
        x, y = jt.tensor(a), torch.tensor(a)
        x.div_(2, rounding_mode=mode)
        y.div_(2, rounding_mode=mode)
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_div_rounding_mode_errors_and_gradient():
    with pytest.raises(ValueError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
        jt.div(jt.ones(2), 2, rounding_mode="round")
    a = jt.tensor([3.0, -5.0], requires_grad=True)
    jt.div(a, jt.tensor([2.0, 4.0])).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.25])
