/* jtensor._fastpath: the hot path of elementwise ops, in C.
 *
 * Handles the common call — every tensor argument of one dtype (shapes broadcast, any strides),
 * other arguments Python numbers, no out= (or the in-place form, writing into self) — by packing
 * the argument words on the stack, calling the op's
 * compiled Julia plan (julia/src/bridge.jl `jt_run`) directly, and building the result Tensor. The
 * plan and result dtype for a call signature are registered by the Python driver
 * (python/jtensor/drivers.py) the first time it runs that signature; anything this file does not
 * handle returns None and the Python driver takes over, so behaviour is defined in one place.
 * It never raises for Julia errors itself: it returns the status and Python builds the exception.
 * It also wraps Julia-made result arrays for NumPy (`wrap`, `JuliaOwned`), the other per-call cost.
 * And it holds what must be C: the Julia-thread flag and the signal handlers (see "Julia thread
 * and signals" below, and bridge.py's docstring).
 *
 * The word format (tags, each kind's word offsets, device codes, limits) comes from the generated
 * header jtensor_wire.h, which setup.py writes from julia/src/wire.txt; `wire_constants()` reports
 * the compiled-in values so Python can refuse a build from another table. Only tensors whose
 * storage (`_base`) is exactly a NumPy ndarray are CPU tensors this file may send; any other
 * storage (another device's) sends the call to the Python driver.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <stdint.h>
#include <signal.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "jtensor_wire.h"

#define MAX_DIMS WIRE_LIMIT_FAST_MAX_DIMS
#define MAX_ARGS WIRE_LIMIT_FAST_MAX_MAP_ARGS
#define TENSOR_WORDS (WIRE_ARG_TENSOR_FIXED + 2 * MAX_DIMS)   /* the most words of one tensor argument */
/* an elementwise call: the output, the compute dtype, the input count, then up to MAX_ARGS
   arguments (tensors, or scalars of fewer words) */
#define MAX_WORDS (TENSOR_WORDS + WIRE_ARG_DTYPE_FIXED + WIRE_ARG_INT_FIXED + MAX_ARGS * TENSOR_WORDS)

typedef int64_t (*run_fn)(int64_t, const int64_t *);
typedef int64_t (*release_fn)(const int64_t *, int64_t);
typedef int64_t (*call_fn)(int64_t, const int64_t *, int64_t, int64_t *);

static PyTypeObject *tensor_type = NULL;
static Py_ssize_t off_base, off_baddr, off_offset, off_shape, off_strides, off_dtype, off_version;
static run_fn jt_run = NULL;
static release_fn jt_release = NULL;
static call_fn jt_call = NULL;
static PyObject *transparent = NULL;  /* overrides._TRANSPARENT: Tensor subclasses that act as Tensors */
/* ---- Julia thread and signals -------------------------------------------------------------
 * Only the thread that started Julia may call it, and only in the process that started it. The
 * flag is thread-local (set by mark_owner on that thread), so a later thread that reuses the
 * owner's id or pthread_t after it exited does not inherit it, and a fork clears julia_usable. */
static __thread int on_julia_thread = 0;
static int julia_usable = 0;
#define ON_JULIA_THREAD() (julia_usable && on_julia_thread)

/* Set by the SIGINT handler, polled by the Julia engine (julia/src/engine.jl INTERRUPT_FLAG);
   cleared before every call into Julia, so only a Ctrl-C during the call stops it. */
static volatile sig_atomic_t interrupt_flag = 0;
static PyObject *pending = NULL;   /* bridge._pending: handles waiting for release */
static PyObject *signatures = NULL; /* (opid, dtype code, kinds...) -> (plan id, result dtype, compute code, rdtype code) */
static PyObject *dtypes = NULL;     /* list: code -> dtype object */
static int itemsizes[32], typenums[32];
static Py_ssize_t ndtypes = 0;      /* the built-in dtypes (codes below it); user dtypes follow in `dtypes` */
static PyTypeObject *size_type = NULL; /* jtensor.Size (typeinfo.py): the type of every Tensor's shape */
static PyObject *str_code = NULL;
static PyObject *str_requires_grad = NULL;
static PyObject *one = NULL;   /* the int 1 */

/* True when the tensor carries requires_grad=True in its instance dict (autograd must record). */
static inline int requires_grad(PyObject *a) {
    PyObject **dp = _PyObject_GetDictPtr(a);
    if (!dp || !*dp) return 0;
    PyObject *v = PyDict_GetItemWithError(*dp, str_requires_grad);
    return v == Py_True;
}
static int64_t last_status = 0;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

static Py_ssize_t member_offset(PyTypeObject *t, const char *name) {
    PyObject *d = PyDict_GetItemString(t->tp_dict, name);
    if (!d || Py_TYPE(d) != &PyMemberDescr_Type) {
        PyErr_Format(PyExc_TypeError, "Tensor has no slot %s", name);
        return -1;
    }
    return ((PyMemberDescrObject *)d)->d_member->offset;
}

/* init(Tensor, dtype list, itemsizes, numpy typenums, run pointer, release pointer, call pointer,
        owner thread id, pending list, signature dict, transparent set) */
static PyObject *fp_init(PyObject *self, PyObject *args) {
    PyObject *tt, *dl, *isz, *tnums, *pend, *sigs, *transp;
    unsigned long long runptr, relptr, callptr, owner;
    if (!PyArg_ParseTuple(args, "OOOOKKKKOOO", &tt, &dl, &isz, &tnums, &runptr, &relptr, &callptr, &owner, &pend,
                          &sigs, &transp))
        return NULL;
    jt_release = (release_fn)(uintptr_t)relptr;
    jt_call = (call_fn)(uintptr_t)callptr;
    Py_XSETREF(transparent, (Py_INCREF(transp), transp));
    tensor_type = (PyTypeObject *)tt;
    Py_INCREF(tt);
    if ((off_base = member_offset(tensor_type, "_base")) < 0) return NULL;
    if ((off_baddr = member_offset(tensor_type, "_baddr")) < 0) return NULL;
    if ((off_offset = member_offset(tensor_type, "_offset")) < 0) return NULL;
    if ((off_shape = member_offset(tensor_type, "shape")) < 0) return NULL;
    if ((off_strides = member_offset(tensor_type, "_strides")) < 0) return NULL;
    if ((off_dtype = member_offset(tensor_type, "dtype")) < 0) return NULL;
    if ((off_version = member_offset(tensor_type, "_version")) < 0) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(isz);   /* the built-ins: `dl` is the live list, user dtypes appended */
    if (n > 32) n = 32;
    ndtypes = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        itemsizes[i] = (int)PyLong_AsLong(PyList_GET_ITEM(isz, i));
        typenums[i] = (int)PyLong_AsLong(PyList_GET_ITEM(tnums, i));
    }
    PyObject *ti = PyImport_ImportModule("jtensor.typeinfo");
    PyObject *sz = ti ? PyObject_GetAttrString(ti, "Size") : NULL;
    Py_XDECREF(ti);
    if (!sz) return NULL;
    if (!PyType_Check(sz) || !PyType_IsSubtype((PyTypeObject *)sz, &PyTuple_Type)) {
        Py_DECREF(sz);
        PyErr_SetString(PyExc_TypeError, "jtensor.Size must be a tuple type");
        return NULL;
    }
    Py_XSETREF(size_type, (PyTypeObject *)sz);
    Py_XSETREF(dtypes, (Py_INCREF(dl), dl));
    Py_XSETREF(pending, (Py_INCREF(pend), pend));
    Py_XSETREF(signatures, (Py_INCREF(sigs), sigs));
    jt_run = (run_fn)(uintptr_t)runptr;
    (void)owner;   /* the owner is the thread-local flag set by mark_owner, not an id */
    Py_RETURN_NONE;
}

static inline int dtype_code(PyObject *dt) {
    PyObject *c = PyObject_GetAttr(dt, str_code);
    if (!c) { PyErr_Clear(); return -1; }
    long v = PyLong_AsLong(c);
    Py_DECREF(c);
    return (int)v;
}

/* Release the handles queued in bridge._pending (Julia arrays Python dropped) with one direct call.
   Returns 1 when the queue is empty afterwards, 0 when Python must handle it: a reload request
   (handle 0) is queued, the queue is long, or Julia reported an error. Owner thread only. */
#define MAX_DRAIN 256
static int drain_pending(void) {
    Py_ssize_t n = PyList_GET_SIZE(pending);
    if (n == 0) return 1;
    if (n > MAX_DRAIN || !jt_release) return 0;
    int64_t h[MAX_DRAIN];
    for (Py_ssize_t i = 0; i < n; i++) {
        h[i] = PyLong_AsLongLong(PyList_GET_ITEM(pending, i));
        if (h[i] <= 0) { PyErr_Clear(); return 0; }
    }
    if (jt_release(h, n)) return 0;
    return PyList_SetSlice(pending, 0, n, NULL) == 0 ? 1 : (PyErr_Clear(), 0);
}

/* drain() -> bool: see drain_pending; bridge._drain falls back to Python when False. */
static PyObject *fp_drain(PyObject *self, PyObject *unused) {
    if (!ON_JULIA_THREAD()) Py_RETURN_FALSE;
    return PyBool_FromLong(drain_pending());
}

/* A new jtensor.Size of `nd` items, to be set with PyTuple_SET_ITEM (a plain tuple before init). */
static PyObject *new_size(Py_ssize_t nd) {
    return size_type ? size_type->tp_alloc(size_type, nd) : PyTuple_New(nd);
}

/* SizeBase: the C base of jtensor.Size, a tuple whose slices are Sizes again (torch.Size's
   behaviour) while indexing with an int stays tuple-fast; typeinfo.Size adds the Python methods. */
static PyObject *sizebase_subscript(PyObject *self, PyObject *key) {
    PyObject *r = PyTuple_Type.tp_as_mapping->mp_subscript(self, key);
    if (!r || !PySlice_Check(key)) return r;
    Py_ssize_t n = PyTuple_GET_SIZE(r);
    PyObject *out = Py_TYPE(self)->tp_alloc(Py_TYPE(self), n);   /* its items are ints already */
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(r, i);
        Py_INCREF(v);
        PyTuple_SET_ITEM(out, i, v);
    }
    Py_DECREF(r);
    return out;
}

static PyMappingMethods sizebase_as_mapping = {NULL, sizebase_subscript, NULL};

static PyTypeObject SizeBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jtensor._fastpath.SizeBase",
    .tp_basicsize = sizeof(PyTupleObject) - sizeof(PyObject *),
    .tp_itemsize = sizeof(PyObject *),
    .tp_as_mapping = &sizebase_as_mapping,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_TUPLE_SUBCLASS,
    .tp_doc = "A tuple whose slices keep its type (the base of jtensor.Size).",
};

/* A fresh Tensor over `base` (a 1-d NumPy array whose data is at `addr`): offset 0, version 0.
   Steals the references to base, shape and strides; borrows dtype. */
static PyObject *new_tensor(PyObject *base, int64_t addr, PyObject *shape, PyObject *strides, PyObject *dtype) {
    PyObject *t = tensor_type->tp_alloc(tensor_type, 0);
    PyObject *ver = PyList_New(1);
    if (!t || !ver) {
        Py_XDECREF(t); Py_XDECREF(ver); Py_DECREF(base); Py_DECREF(shape); Py_DECREF(strides);
        return NULL;
    }
    PyList_SET_ITEM(ver, 0, PyLong_FromLong(0));
    Py_INCREF(dtype);
    SLOT(t, off_base) = base;
    SLOT(t, off_baddr) = PyLong_FromLongLong(addr);
    SLOT(t, off_offset) = PyLong_FromLong(0);
    SLOT(t, off_shape) = shape;
    SLOT(t, off_strides) = strides;
    SLOT(t, off_dtype) = dtype;
    SLOT(t, off_version) = ver;
    return t;
}

/* Tensor `t` after an in-place write: its version counter (a one-item list its views share, as
   Tensor._bump) one higher. Returns a new reference to `t`, or NULL with an error set. */
static PyObject *bump_version(PyObject *t) {
    PyObject *ver = SLOT(t, off_version);
    PyObject *v = PyList_Check(ver) && PyList_GET_SIZE(ver) == 1 ? PyNumber_Add(PyList_GET_ITEM(ver, 0), one) : NULL;
    if (!v) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "bridge: a tensor's version counter is not a 1-item list");
        return NULL;
    }
    PyList_SetItem(ver, 0, v);   /* steals v */
    Py_INCREF(t);
    return t;
}

/* A one-value argument of table kind KIND (INT, FLOAT, BOOL) at w[k], k advanced past it. */
#define PUT_VALUE(KIND, V) do { \
        w[k + WIRE_ARG_##KIND##_TAG] = WIRE_TAG_##KIND; w[k + WIRE_ARG_##KIND##_VALUE] = (V); \
        k += WIRE_ARG_##KIND##_FIXED; } while (0)

static inline int64_t float_word(double v) { int64_t b; memcpy(&b, &v, sizeof b); return b; }

/* Calls on at least this many elements release the GIL while Julia runs: other Python threads (a
   data loader, a progress bar, a Ctrl-C timer) go on meanwhile; smaller ones keep it, as releasing
   and retaking it costs more than they do. Only the owner thread can enter Julia (ON_JULIA_THREAD). */
#define RELEASE_GIL_ELEMENTS (1 << 16)

/* The number of elements of tensor `a` (a double: no overflow to worry about). */
static double numel_of(PyObject *a) {
    PyObject *shape = SLOT(a, off_shape);
    double n = 1;
    for (Py_ssize_t d = 0; d < PyTuple_GET_SIZE(shape); d++) n *= (double)PyLong_AsLongLong(PyTuple_GET_ITEM(shape, d));
    return n;
}

/* Whether tensor `a` is a CPU tensor this file may send: its storage is exactly a NumPy ndarray. */
#define ON_CPU(a) PyArray_CheckExact(SLOT(a, off_base))

/* The header words of a CPU tensor argument at w[k] (the table's `arg tensor` fields before its
   shape and strides), for `nd` dims of dtype `code` at address `addr`; returns the index of its shape. */
static inline int put_tensor_head(int64_t *w, int k, int code, int nd, int64_t addr) {
    w[k + WIRE_ARG_TENSOR_TAG] = WIRE_TAG_TENSOR;
    w[k + WIRE_ARG_TENSOR_DTYPE] = code;
    w[k + WIRE_ARG_TENSOR_NDIM] = nd;
    w[k + WIRE_ARG_TENSOR_DEVICE] = WIRE_DEVICE_CPU;
    w[k + WIRE_ARG_TENSOR_ADDRESS] = addr;
    return k + WIRE_ARG_TENSOR_FIXED;
}

/* The words of CPU tensor `a` (dtype `code`, `nd` dims) at w[k]: the head, then shape and strides
   (julia/src/bridge.jl decode_arg); returns the next index. */
static int put_tensor(int64_t *w, int k, PyObject *a, int code, int nd) {
    PyObject *shape = SLOT(a, off_shape), *st = SLOT(a, off_strides);
    int64_t off = PyLong_AsLongLong(SLOT(a, off_offset)), baddr = PyLong_AsLongLong(SLOT(a, off_baddr));
    k = put_tensor_head(w, k, code, nd, baddr + off * itemsizes[code]);
    for (int d = 0; d < nd; d++) w[k++] = PyLong_AsLongLong(PyTuple_GET_ITEM(shape, d));
    for (int d = 0; d < nd; d++) w[k++] = PyLong_AsLongLong(PyTuple_GET_ITEM(st, d));
    return k;
}

/* The words of CPU tensor `a` broadcast to the `nd` dims `dims` (wire.py encode_tensor_as): its
   strides, 0 on the dims it is broadcast along and on the leading dims it lacks. */
static int put_tensor_as(int64_t *w, int k, PyObject *a, int code, int nd, const int64_t *dims) {
    PyObject *shape = SLOT(a, off_shape), *st = SLOT(a, off_strides);
    int na = (int)PyTuple_GET_SIZE(shape), off = nd - na;
    int64_t o = PyLong_AsLongLong(SLOT(a, off_offset)), baddr = PyLong_AsLongLong(SLOT(a, off_baddr));
    k = put_tensor_head(w, k, code, nd, baddr + o * itemsizes[code]);
    for (int d = 0; d < nd; d++) w[k++] = dims[d];
    for (int d = 0; d < nd; d++) {
        int j = d - off;
        w[k++] = j < 0 || (PyLong_AsLongLong(PyTuple_GET_ITEM(shape, j)) == 1 && dims[d] != 1)
                     ? 0 : PyLong_AsLongLong(PyTuple_GET_ITEM(st, j));
    }
    return k;
}

/* The first and last byte addresses tensor `a` (dtype `code`, `nd` dims, data at `addr`) can touch,
   as _tensor.py `_byte_span`; returns 0 for an empty tensor (it touches nothing). */
static int byte_span(PyObject *a, int code, int nd, int64_t addr, int64_t *lo, int64_t *hi) {
    PyObject *shape = SLOT(a, off_shape), *st = SLOT(a, off_strides);
    *lo = *hi = addr;
    for (int d = 0; d < nd; d++) {
        int64_t n = PyLong_AsLongLong(PyTuple_GET_ITEM(shape, d)), s = PyLong_AsLongLong(PyTuple_GET_ITEM(st, d));
        if (n == 0) return 0;
        if (s > 0) *hi += (n - 1) * s * itemsizes[code]; else *lo += (n - 1) * s * itemsizes[code];
    }
    *hi += itemsizes[code] - 1;
    return 1;
}

static inline int64_t data_address(PyObject *a, int code) {
    return PyLong_AsLongLong(SLOT(a, off_baddr)) + PyLong_AsLongLong(SLOT(a, off_offset)) * itemsizes[code];
}

/* Whether an in-place call may write into `dst` (dtype `code`, broadcast result dims `dims`, `nd`)
   here: its memory is writeable, the result has exactly its shape (broadcasting never grows it),
   no two of its elements share memory (an expanded view), and no other tensor argument overlaps it
   except in exactly its layout (element i then reads what it overwrites). Anything else is the
   driver's: it raises PyTorch's errors, or copies the overlapping operand first (drivers._unaliased). */
static int writable_into(PyObject *dst, int code, int nd, const int64_t *dims, PyObject *args) {
    PyObject *shape = SLOT(dst, off_shape), *st = SLOT(dst, off_strides);
    if (PyTuple_GET_SIZE(shape) != nd || !PyArray_ISWRITEABLE((PyArrayObject *)SLOT(dst, off_base))) return 0;
    for (int d = 0; d < nd; d++) {
        int64_t n = PyLong_AsLongLong(PyTuple_GET_ITEM(shape, d));
        if (n != dims[d] || (n > 1 && PyLong_AsLongLong(PyTuple_GET_ITEM(st, d)) == 0)) return 0;
    }
    int64_t addr = data_address(dst, code), lo, hi, alo, ahi;
    if (!byte_span(dst, code, nd, addr, &lo, &hi)) return 1;
    for (Py_ssize_t i = 1; i < PyTuple_GET_SIZE(args); i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (Py_TYPE(a) != tensor_type) continue;
        int an = (int)PyTuple_GET_SIZE(SLOT(a, off_shape));
        int64_t aaddr = data_address(a, code);
        if (!byte_span(a, code, an, aaddr, &alo, &ahi) || alo > hi || lo > ahi) continue;
        if (aaddr != addr || PyObject_RichCompareBool(SLOT(a, off_shape), shape, Py_EQ) != 1
            || PyObject_RichCompareBool(SLOT(a, off_strides), st, Py_EQ) != 1) return 0;
    }
    return 1;
}

/* map(opid, args tuple, extras tuple[, ungraded[, into]]) -> Tensor, or None when the Python driver
   must handle it. `ungraded` true: inputs that require grad are fine (autograd.record is computing
   the value and attaches the graph itself, or grad mode is off). `into` true: the in-place form,
   which writes the result into args[0] (self) and returns it, its version bumped; its signatures
   are registered apart (the key ends in MAPKEY_INTO: drivers.py _register_fast). */
#define MAPKEY_INTO (-1)
static PyObject *fp_map(PyObject *self, PyObject *const *fargs, Py_ssize_t nfargs) {
    if (nfargs < 3 || nfargs > 5 || !jt_run) Py_RETURN_NONE;
    PyObject *opid = fargs[0], *args = fargs[1], *extras = fargs[2];
    int ungraded = nfargs >= 4 && PyObject_IsTrue(fargs[3]) == 1;
    int into = nfargs == 5 && PyObject_IsTrue(fargs[4]) == 1;
    Py_ssize_t na = PyTuple_GET_SIZE(args), ne = PyTuple_GET_SIZE(extras);
    if (na + ne > MAX_ARGS) Py_RETURN_NONE;
    if (!ON_JULIA_THREAD()) Py_RETURN_NONE;  /* Python raises the clear error */
    if (!drain_pending()) Py_RETURN_NONE;

    PyObject *shape = NULL, *dt = NULL;   /* shape: an input's shape object equal to the result's, if any */
    int nd = 0, same = 1;
    int64_t dims[MAX_DIMS], cstr[MAX_DIMS];
    PyObject *key = PyTuple_New(2 + na + ne + into);
    if (!key) return NULL;
    if (into) {
        if (na == 0 || Py_TYPE(PyTuple_GET_ITEM(args, 0)) != tensor_type) goto fallback;
        PyTuple_SET_ITEM(key, 2 + na + ne, PyLong_FromLong(MAPKEY_INTO));
    }
    Py_INCREF(opid);
    PyTuple_SET_ITEM(key, 0, opid);
    for (Py_ssize_t i = 0; i < na + ne; i++) {
        PyObject *a = i < na ? PyTuple_GET_ITEM(args, i) : PyTuple_GET_ITEM(extras, i - na);
        long kind;
        if (Py_TYPE(a) == tensor_type) {
            if (i >= na || !ON_CPU(a) || (!ungraded && requires_grad(a))) goto fallback;
            PyObject *s = SLOT(a, off_shape), *d = SLOT(a, off_dtype);
            if (!dt) dt = d;
            else if (d != dt) goto fallback;
            if (!shape) shape = s;
            else if (s != shape && PyObject_RichCompareBool(s, shape, Py_EQ) != 1) same = 0;
            int k = (int)PyTuple_GET_SIZE(s);
            if (k > MAX_DIMS) goto fallback;
            if (k > nd) {   /* more leading dims: the result's shape so far moves right */
                memmove(dims + (k - nd), dims, nd * sizeof dims[0]);
                for (int j = 0; j < k - nd; j++) dims[j] = 1;
                nd = k;
            }
            for (int j = 0; j < k; j++) {   /* broadcast (PyTorch's rule; a mismatch: Python raises) */
                int64_t v = PyLong_AsLongLong(PyTuple_GET_ITEM(s, j)), *o = &dims[nd - k + j];
                if (v != *o) {
                    if (*o == 1) *o = v;
                    else if (v != 1) goto fallback;
                }
            }
            kind = WIRE_MAPKIND_TENSOR;
        } else if (PyBool_Check(a)) kind = WIRE_MAPKIND_BOOL;
        else if (PyLong_CheckExact(a)) kind = WIRE_MAPKIND_INT;
        else if (PyFloat_CheckExact(a)) kind = WIRE_MAPKIND_FLOAT;
        else goto fallback;
        PyTuple_SET_ITEM(key, 2 + i, PyLong_FromLong(kind));
    }
    if (!dt) goto fallback;
    int code = dtype_code(dt);
    if (code < 0 || code >= ndtypes) goto fallback;   /* user dtypes: the Python driver */
    PyTuple_SET_ITEM(key, 1, PyLong_FromLong(code));
    PyObject *entry = PyDict_GetItemWithError(signatures, key);  /* borrowed */
    if (!entry) { if (PyErr_Occurred()) PyErr_Clear(); goto fallback; }
    int64_t pid = PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 0));
    PyObject *rdtype = PyTuple_GET_ITEM(entry, 1);
    int64_t ccode = PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 2));
    int rcode = (int)PyLong_AsLong(PyTuple_GET_ITEM(entry, 3));
    Py_DECREF(key);
    key = NULL;

    /* the destination: self (in place), or a new contiguous result */
    npy_intp numel = 1;
    for (int d = 0; d < nd; d++) {
        /* a size that overflows: Python's allocation raises PyTorch's error */
        if (__builtin_mul_overflow(numel, dims[d], &numel)) goto fallback;
    }
    PyObject *base = NULL, *dst = into ? PyTuple_GET_ITEM(args, 0) : NULL;
    int64_t w[MAX_WORDS];   /* [out][compute dtype][#inputs][inputs...][extras...] (julia/src/bridge.jl MapPlan) */
    int k = 0;
    if (into) {
        if (!writable_into(dst, code, nd, dims, args)) goto fallback;
        k = put_tensor(w, k, dst, rcode, nd);
    } else {
        npy_intp nbytes;
        if (__builtin_mul_overflow(numel, (npy_intp)8, &nbytes)) goto fallback;
        int64_t acc = 1;
        for (int d = nd - 1; d >= 0; d--) { cstr[d] = acc; acc *= dims[d] > 1 ? dims[d] : 1; }
        base = PyArray_EMPTY(1, &numel, typenums[rcode], 0);
        if (!base) return NULL;
        k = put_tensor_head(w, k, rcode, nd, (int64_t)(uintptr_t)PyArray_DATA((PyArrayObject *)base));
        for (int d = 0; d < nd; d++) w[k++] = dims[d];
        for (int d = 0; d < nd; d++) w[k++] = cstr[d];
    }
    w[k + WIRE_ARG_DTYPE_TAG] = WIRE_TAG_DTYPE; w[k + WIRE_ARG_DTYPE_CODE] = ccode; k += WIRE_ARG_DTYPE_FIXED;
    w[k + WIRE_ARG_INT_TAG] = WIRE_TAG_INT; w[k + WIRE_ARG_INT_VALUE] = na; k += WIRE_ARG_INT_FIXED;
    for (Py_ssize_t i = 0; i < na + ne; i++) {
        PyObject *a = i < na ? PyTuple_GET_ITEM(args, i) : PyTuple_GET_ITEM(extras, i - na);
        if (Py_TYPE(a) == tensor_type) {
            k = put_tensor_as(w, k, a, code, nd, dims);
        } else if (PyBool_Check(a)) {
            PUT_VALUE(BOOL, a == Py_True);
        } else if (PyLong_CheckExact(a)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(a, &overflow);
            if (overflow) { Py_XDECREF(base); Py_RETURN_NONE; }
            PUT_VALUE(INT, v);
        } else {
            PUT_VALUE(FLOAT, float_word(PyFloat_AS_DOUBLE(a)));
        }
    }
    int64_t status;
    interrupt_flag = 0;
    if (numel >= RELEASE_GIL_ELEMENTS) {
        Py_BEGIN_ALLOW_THREADS
        status = jt_run(pid, w);
        Py_END_ALLOW_THREADS
    } else {
        status = jt_run(pid, w);
    }
    if (status) {
        Py_XDECREF(base);
        last_status = status;
        return PyLong_FromLongLong(status);  /* Python raises the Julia error */
    }
    if (into) return bump_version(dst);
    PyObject *cs = PyTuple_New(nd);
    if (!cs) { Py_DECREF(base); return NULL; }
    for (int d = 0; d < nd; d++) PyTuple_SET_ITEM(cs, d, PyLong_FromLongLong(cstr[d]));
    PyObject *rshape;
    if (same && PyTuple_GET_SIZE(shape) == nd) {   /* every input has the result's shape: share it */
        rshape = shape;
        Py_INCREF(rshape);
    } else {
        rshape = new_size(nd);
        if (!rshape) { Py_DECREF(base); Py_DECREF(cs); return NULL; }
        for (int d = 0; d < nd; d++) PyTuple_SET_ITEM(rshape, d, PyLong_FromLongLong(dims[d]));
    }
    return new_tensor(base, (int64_t)(uintptr_t)PyArray_DATA((PyArrayObject *)base), rshape, cs, rdtype);

fallback:
    Py_XDECREF(key);
    Py_RETURN_NONE;
}

/* JuliaOwned: the base object of a NumPy array over Julia-made memory. When NumPy lets go of it,
   its handle joins bridge._pending, and Julia unroots the array at the next call (from any thread:
   only the list append happens here). The Python class of the same name in bridge.py is the
   fallback when this extension is not built. */
typedef struct {
    PyObject_HEAD
    long long handle;
} JuliaOwnedObject;

static void jo_dealloc(JuliaOwnedObject *self) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *h = PyLong_FromLongLong(self->handle);
    if (!h || !pending || PyList_Append(pending, h) < 0) PyErr_WriteUnraisable((PyObject *)self);
    Py_XDECREF(h);
    PyErr_Restore(type, value, tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef jo_members[] = {
    {"handle", T_LONGLONG, offsetof(JuliaOwnedObject, handle), READONLY, "the Julia handle rooting the memory"},
    {NULL}};

static PyTypeObject JuliaOwnedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jtensor._fastpath.JuliaOwned",
    .tp_basicsize = sizeof(JuliaOwnedObject),
    .tp_dealloc = (destructor)jo_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Keeps a Julia array alive while NumPy uses its memory.",
    .tp_members = jo_members,
};

/* A 1-d array of `count` elements of dtype `code` over `ptr` (NULL: newly allocated): a built-in by
   its NumPy type number; a user dtype (code >= ndtypes) by its dtype object's `np_storage`, the raw
   bytes of its elements. */
static PyObject *new_array(long code, npy_intp count, void *ptr) {
    if (code < ndtypes)
        return ptr ? PyArray_SimpleNewFromData(1, &count, typenums[code], ptr) : PyArray_EMPTY(1, &count, typenums[code], 0);
    if (code >= PyList_GET_SIZE(dtypes)) { PyErr_SetString(PyExc_RuntimeError, "bridge: bad dtype code"); return NULL; }
    PyObject *st = PyObject_GetAttrString(PyList_GET_ITEM(dtypes, code), "np_storage");
    if (!st) return NULL;
    PyArray_Descr *descr = NULL;
    int ok = PyArray_DescrConverter(st, &descr);
    Py_DECREF(st);
    if (!ok) return NULL;
    return PyArray_NewFromDescr(&PyArray_Type, descr, 1, &count, NULL, ptr, ptr ? NPY_ARRAY_CARRAY : 0, NULL);
}

/* wrap(ptr, count, dtype code, typestr, handle) -> 1-d ndarray over Julia memory (typestr unused:
   the code's NumPy type number was given to init). */
static PyObject *fp_wrap(PyObject *self, PyObject *const *a, Py_ssize_t n) {
    if (n != 5) { PyErr_SetString(PyExc_TypeError, "wrap expects 5 arguments"); return NULL; }
    long long ptr = PyLong_AsLongLong(a[0]);
    npy_intp count = (npy_intp)PyLong_AsSsize_t(a[1]);
    long code = PyLong_AsLong(a[2]);
    long long handle = PyLong_AsLongLong(a[4]);
    if (PyErr_Occurred()) return NULL;
    if (code < 0 || code >= PyList_GET_SIZE(dtypes)) { PyErr_SetString(PyExc_ValueError, "wrap: bad dtype code"); return NULL; }
    JuliaOwnedObject *owner = PyObject_New(JuliaOwnedObject, &JuliaOwnedType);
    if (!owner) return NULL;
    owner->handle = handle;   /* from here on, dropping `owner` releases the handle */
    PyObject *arr = new_array(code, count, (void *)(uintptr_t)ptr);
    if (!arr) { Py_DECREF(owner); return NULL; }
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)owner) < 0) { Py_DECREF(arr); return NULL; }
    return arr;
}

/* ---- fn ops: the general entry (jt_call, Julia-made result) for simple signatures -------------- */

/* parameter kinds (schema.py FN_KINDS): the table's `fnkind` lines */
#define FN_MAX_ARGS WIRE_LIMIT_FAST_MAX_FN_ARGS
#define FN_MAX_WORDS 4096   /* a call with more words (long tensor lists) goes to the Python driver */
static int64_t fn_res[WIRE_LIMIT_RESULT_WORDS];

static inline int is_tensor(PyObject *a) {
    PyTypeObject *t = Py_TYPE(a);
    return t == tensor_type || (transparent && PySet_Contains(transparent, (PyObject *)t) == 1);
}

/* The Tensor for the tensor result at fn_res[i..] (the table's `result tensor`): over the Julia-made
   array for a CPU result; from Tensor._device_result(device, shape, dtype) for another device's. */
static PyObject *result_tensor(int i) {
    int code = (int)fn_res[i + WIRE_RESULT_TENSOR_DTYPE], nd = (int)fn_res[i + WIRE_RESULT_TENSOR_NDIM];
    int64_t ptr = fn_res[i + WIRE_RESULT_TENSOR_ADDRESS], handle = fn_res[i + WIRE_RESULT_TENSOR_HANDLE];
    int64_t device = fn_res[i + WIRE_RESULT_TENSOR_DEVICE];
    const int64_t *dims = &fn_res[i + WIRE_RESULT_TENSOR_FIXED];
    if (code < 0 || code >= PyList_GET_SIZE(dtypes)) { PyErr_SetString(PyExc_RuntimeError, "bridge: bad result dtype"); return NULL; }
    npy_intp numel = 1;
    PyObject *shape = new_size(nd), *cs = PyTuple_New(nd);
    if (!shape || !cs) { Py_XDECREF(shape); Py_XDECREF(cs); return NULL; }
    int64_t acc = 1;
    for (int d = nd - 1; d >= 0; d--) {
        int64_t n = dims[d];
        PyTuple_SET_ITEM(shape, d, PyLong_FromLongLong(n));
        PyTuple_SET_ITEM(cs, d, PyLong_FromLongLong(acc));
        acc *= n > 1 ? n : 1;
        numel *= (npy_intp)n;
    }
    if (device != WIRE_DEVICE_CPU) {   /* no host memory: the Tensor class makes it */
        Py_DECREF(cs);
        PyObject *r = PyObject_CallMethod((PyObject *)tensor_type, "_device_result", "LNO", (long long)device, shape,
                                          PyList_GET_ITEM(dtypes, code));
        return r;
    }
    JuliaOwnedObject *owner = PyObject_New(JuliaOwnedObject, &JuliaOwnedType);
    if (!owner) { Py_DECREF(shape); Py_DECREF(cs); return NULL; }
    owner->handle = handle;   /* dropping it releases the Julia array */
    PyObject *base;
    if (numel == 0) {         /* no memory to share: an empty NumPy array, the handle released */
        base = new_array(code, numel, NULL);
        Py_DECREF(owner);
        ptr = base ? (int64_t)(uintptr_t)PyArray_DATA((PyArrayObject *)base) : 0;
    } else {
        base = new_array(code, numel, (void *)(uintptr_t)ptr);
        if (base && PyArray_SetBaseObject((PyArrayObject *)base, (PyObject *)owner) < 0) { Py_DECREF(base); base = NULL; }
        else if (!base) Py_DECREF(owner);
    }
    if (!base) { Py_DECREF(shape); Py_DECREF(cs); return NULL; }
    return new_tensor(base, ptr, shape, cs, PyList_GET_ITEM(dtypes, code));
}

/* A CPU tensor argument the fast call may send: exact or transparent Tensor, storage a NumPy array,
   not requiring grad unless `ungraded`, at most MAX_DIMS dims, a known dtype. */
static inline int sendable(PyObject *a, int ungraded) {
    return is_tensor(a) && ON_CPU(a) && (ungraded || !requires_grad(a)) &&
           PyTuple_GET_SIZE(SLOT(a, off_shape)) <= MAX_DIMS;
}

/* Python dim `d` of an `ndim`-dim tensor as the 1-based Julia dim (schema.py julia_dim); -1 when out
   of range (the Python driver raises PyTorch's IndexError). */
static inline int64_t julia_dim(long long d, int ndim) {
    int n = ndim > 0 ? ndim : 1;
    if (d < -n || d >= n) return -1;
    if (d < 0) d += n;
    return ndim > 0 ? ndim - d : 1;
}

/* The int items of an int-list argument (a tuple or list of ints, or one int) into v[0..*n), at most
   `cap`; 0 when the argument is anything else (the Python driver converts or raises). */
static int int_items(PyObject *a, int64_t *v, Py_ssize_t *n, Py_ssize_t cap) {
    PyObject *const *items = &a;
    Py_ssize_t m = 1;
    if (PyTuple_Check(a)) { items = &PyTuple_GET_ITEM(a, 0); m = PyTuple_GET_SIZE(a); }
    else if (PyList_Check(a)) { items = &PyList_GET_ITEM(a, 0); m = PyList_GET_SIZE(a); }
    else if (!PyLong_Check(a)) return 0;
    if (m > cap) return 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        if (!PyLong_Check(items[i])) return 0;
        int overflow = 0;
        v[i] = PyLong_AsLongLongAndOverflow(items[i], &overflow);
        if (overflow || (v[i] == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    }
    *n = m;
    return 1;
}

static int cmp_int64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* call(opid, kinds tuple, args tuple, ungraded) -> Tensor | int status | None.
   Runs a fn op returning one Tensor when every argument is of its parameter's simple kind: tensors
   (exact or transparent) and lists of them, Python numbers (a Scalar: bool, int or float, tagged as
   wire.py encode_scalar does; complex goes to the driver), bools, strings, dims and dim lists
   (made Julia dims as wire.py encode_arg does), shapes and int lists, jtensor dtypes, and None
   where the kind has the `optional` flag. None: the Python driver handles the call (other values,
   a dim out of range, tensors needing grad unless `ungraded`, another device's tensors...), so
   conversions and errors stay defined in one place. */
static PyObject *fp_call(PyObject *self, PyObject *const *fargs, Py_ssize_t nfargs) {
    if (nfargs != 4 || !jt_call) Py_RETURN_NONE;
    PyObject *kinds = fargs[1], *args = fargs[2];
    int ungraded = PyObject_IsTrue(fargs[3]) == 1;
    Py_ssize_t na = PyTuple_GET_SIZE(args);
    if (na != PyTuple_GET_SIZE(kinds) || na > FN_MAX_ARGS) Py_RETURN_NONE;
    if (!ON_JULIA_THREAD()) Py_RETURN_NONE;
    /* the dims of the call's first tensor (wire.py `ref_ndim`): Python dims become Julia dims against it */
    int ref_ndim = -1;
    for (Py_ssize_t i = 0; i < na && ref_ndim < 0; i++) {
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i)) & ~WIRE_FNKIND_OPTIONAL;
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if ((kind == WIRE_FNKIND_TENSOR || kind == WIRE_FNKIND_OPT_TENSOR) && a != Py_None && is_tensor(a))
            ref_ndim = (int)PyTuple_GET_SIZE(SLOT(a, off_shape));
    }
    for (Py_ssize_t i = 0; i < na && ref_ndim < 0; i++) {
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i)) & ~WIRE_FNKIND_OPTIONAL;
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (kind == WIRE_FNKIND_TENSORLIST && (PyList_Check(a) || PyTuple_Check(a)) && PySequence_Fast_GET_SIZE(a) > 0) {
            PyObject *x = PySequence_Fast_GET_ITEM(a, 0);
            if (!is_tensor(x)) Py_RETURN_NONE;
            ref_ndim = (int)PyTuple_GET_SIZE(SLOT(x, off_shape));
        }
    }
    if (ref_ndim < 0) ref_ndim = 0;
    PyTypeObject *dtype_type = Py_TYPE(PyList_GET_ITEM(dtypes, 0));
    int64_t w[FN_MAX_WORDS];
    double work = 0;   /* elements the call touches, roughly: decides whether to release the GIL */
#define ROOM(n) do { if (k + (n) > FN_MAX_WORDS) Py_RETURN_NONE; } while (0)
    int k = 0;
    for (Py_ssize_t i = 0; i < na; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i));
        if (a == Py_None && (kind == WIRE_FNKIND_OPT_TENSOR || (kind & WIRE_FNKIND_OPTIONAL))) {
            ROOM(WIRE_ARG_NONE_FIXED);
            w[k + WIRE_ARG_NONE_TAG] = WIRE_TAG_NONE; k += WIRE_ARG_NONE_FIXED;
            continue;
        }
        kind &= ~WIRE_FNKIND_OPTIONAL;
        ROOM(TENSOR_WORDS);   /* the most words of one argument, a tensor list's items apart */
        if (kind == WIRE_FNKIND_TENSOR || kind == WIRE_FNKIND_OPT_TENSOR) {
            if (a == Py_None || !sendable(a, ungraded)) Py_RETURN_NONE;   /* Python raises the clear error */
            int code = dtype_code(SLOT(a, off_dtype));
            if (code < 0 || code >= ndtypes) Py_RETURN_NONE;   /* user dtypes: the driver */
            k = put_tensor(w, k, a, code, (int)PyTuple_GET_SIZE(SLOT(a, off_shape)));
            work += numel_of(a);
        } else if (kind == WIRE_FNKIND_TENSORLIST) {
            if (!PyList_Check(a) && !PyTuple_Check(a)) Py_RETURN_NONE;
            Py_ssize_t m = PySequence_Fast_GET_SIZE(a);
            w[k + WIRE_ARG_TENSORLIST_TAG] = WIRE_TAG_TENSORLIST; w[k + WIRE_ARG_TENSORLIST_COUNT] = m;
            k += WIRE_ARG_TENSORLIST_FIXED;
            for (Py_ssize_t j = 0; j < m; j++) {
                PyObject *x = PySequence_Fast_GET_ITEM(a, j);
                if (!sendable(x, ungraded)) Py_RETURN_NONE;
                int code = dtype_code(SLOT(x, off_dtype));
                if (code < 0 || code >= ndtypes) Py_RETURN_NONE;   /* user dtypes: the driver */
                ROOM(TENSOR_WORDS);
                k = put_tensor(w, k, x, code, (int)PyTuple_GET_SIZE(SLOT(x, off_shape)));
                work += numel_of(x);
            }
        } else if (kind == WIRE_FNKIND_INT && PyLong_Check(a)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(a, &overflow);
            if (overflow) Py_RETURN_NONE;
            PUT_VALUE(INT, v);
        } else if (kind == WIRE_FNKIND_DIM && PyLong_CheckExact(a)) {
            int overflow = 0;
            int64_t d = julia_dim(PyLong_AsLongLongAndOverflow(a, &overflow), ref_ndim);
            if (overflow || d < 0) Py_RETURN_NONE;
            PUT_VALUE(INT, d);
        } else if (kind == WIRE_FNKIND_DIMS) {
            int64_t v[MAX_DIMS];
            Py_ssize_t m;
            if (!int_items(a, v, &m, MAX_DIMS)) Py_RETURN_NONE;
            for (Py_ssize_t j = 0; j < m; j++) if ((v[j] = julia_dim(v[j], ref_ndim)) < 0) Py_RETURN_NONE;
            if (ref_ndim == 0) m = 0;   /* a 0-d tensor has no dims to name */
            qsort(v, m, sizeof v[0], cmp_int64);
            for (Py_ssize_t j = 1; j < m; j++) if (v[j] == v[j - 1]) Py_RETURN_NONE;   /* Python raises */
            w[k + WIRE_ARG_INTLIST_TAG] = WIRE_TAG_INTLIST; w[k + WIRE_ARG_INTLIST_COUNT] = m;
            k += WIRE_ARG_INTLIST_FIXED;
            for (Py_ssize_t j = 0; j < m; j++) w[k++] = v[j];
        } else if (kind == WIRE_FNKIND_SHAPE || kind == WIRE_FNKIND_INTLIST) {
            int64_t v[MAX_DIMS];
            Py_ssize_t m;
            if (!int_items(a, v, &m, MAX_DIMS)) Py_RETURN_NONE;
            w[k + WIRE_ARG_INTLIST_TAG] = WIRE_TAG_INTLIST; w[k + WIRE_ARG_INTLIST_COUNT] = m;
            k += WIRE_ARG_INTLIST_FIXED;
            double size = 1;
            for (Py_ssize_t j = 0; j < m; j++) {   /* a shape in Julia order: reversed */
                w[k++] = v[kind == WIRE_FNKIND_SHAPE ? m - 1 - j : j];
                size *= (double)v[j];
            }
            if (kind == WIRE_FNKIND_SHAPE && size > work) work = size;   /* a creation op's output */
        } else if (kind == WIRE_FNKIND_DTYPE && Py_TYPE(a) == dtype_type) {
            int code = dtype_code(a);
            if (code < 0 || code >= ndtypes) Py_RETURN_NONE;   /* user dtypes: the driver */
            w[k + WIRE_ARG_DTYPE_TAG] = WIRE_TAG_DTYPE; w[k + WIRE_ARG_DTYPE_CODE] = code; k += WIRE_ARG_DTYPE_FIXED;
        } else if (kind == WIRE_FNKIND_FLOAT && (PyFloat_Check(a) || PyLong_Check(a))) {
            double v = PyFloat_AsDouble(a);
            if (v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); Py_RETURN_NONE; }
            PUT_VALUE(FLOAT, float_word(v));
        } else if (kind == WIRE_FNKIND_BOOL && PyBool_Check(a)) {
            PUT_VALUE(BOOL, a == Py_True);
        } else if (kind == WIRE_FNKIND_SCALAR && PyBool_Check(a)) {   /* as wire.py encode_scalar */
            PUT_VALUE(BOOL, a == Py_True);
        } else if (kind == WIRE_FNKIND_SCALAR && PyLong_CheckExact(a)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(a, &overflow);
            if (overflow) Py_RETURN_NONE;   /* the driver raises the OverflowError */
            PUT_VALUE(INT, v);
        } else if (kind == WIRE_FNKIND_SCALAR && PyFloat_CheckExact(a)) {
            PUT_VALUE(FLOAT, float_word(PyFloat_AS_DOUBLE(a)));
        } else if (kind == WIRE_FNKIND_STR && PyUnicode_Check(a)) {
            Py_ssize_t len;
            const char *u = PyUnicode_AsUTF8AndSize(a, &len);   /* lives as long as `a` (in args) */
            if (!u) { PyErr_Clear(); Py_RETURN_NONE; }
            w[k + WIRE_ARG_STR_TAG] = WIRE_TAG_STR; w[k + WIRE_ARG_STR_ADDRESS] = (int64_t)(uintptr_t)u;
            w[k + WIRE_ARG_STR_LENGTH] = len; k += WIRE_ARG_STR_FIXED;
        } else {
            Py_RETURN_NONE;
        }
    }
#undef ROOM
    if (!drain_pending()) Py_RETURN_NONE;
    interrupt_flag = 0;
    long long opid = PyLong_AsLongLong(fargs[0]);
    int64_t status;
    if (work >= RELEASE_GIL_ELEMENTS) {
        Py_BEGIN_ALLOW_THREADS
        status = jt_call(opid, w, k, fn_res);
        Py_END_ALLOW_THREADS
    } else {
        status = jt_call(opid, w, k, fn_res);
    }
    if (status) return PyLong_FromLongLong(status);   /* Python raises the Julia error */
    if (fn_res[0] != 1 || fn_res[1] != WIRE_TAG_TENSOR) {
        PyErr_SetString(PyExc_RuntimeError, "bridge: fast call expected one tensor result");
        return NULL;
    }
    return result_tensor(1);
}

/* ---- Julia thread and signals (continued) ---------------------------------------------------- */

static void after_fork_child(void) { julia_usable = 0; interrupt_flag = 0; }

/* mark_owner(): called by bridge.start on the thread that started Julia. */
static PyObject *fp_mark_owner(PyObject *self, PyObject *unused) {
    static int atfork_registered = 0;
    if (!atfork_registered && pthread_atfork(NULL, NULL, after_fork_child) == 0) atfork_registered = 1;
    on_julia_thread = 1;
    julia_usable = 1;
    Py_RETURN_NONE;
}

static struct sigaction python_sigint;   /* the handler replaced by on_sigint (Python's) */
static struct sigaction julia_sigint;    /* Julia's (only its signal listener thread uses it) */
static pid_t listener_tid = 0;           /* Julia's signal listener thread (sigwait), 0 = unknown */
static volatile sig_atomic_t sigint_to_julia = 0;   /* set while Julia user code runs (eval, REPL) */
static struct sigaction julia_sigusr2;   /* Julia's thread-suspend handler */
static struct sigaction before_sigusr2;  /* SIGUSR2's disposition before Julia started */

static void call_action(const struct sigaction *a, int sig, siginfo_t *info, void *ctx) {
    if (a->sa_flags & SA_SIGINFO) {
        if (a->sa_sigaction) a->sa_sigaction(sig, info, ctx);
    } else if (a->sa_handler == SIG_DFL) {   /* terminate (or whatever the default is) as usual */
        signal(sig, SIG_DFL);
        raise(sig);   /* pending until this handler returns */
    } else if (a->sa_handler != SIG_IGN && a->sa_handler) {
        a->sa_handler(sig);
    }
}

/* Ctrl-C: raise the flag the engine polls, then run Python's handler as before. While Julia user
   code runs (jt.julia.eval, the REPL), Ctrl-C goes to Julia's own machinery instead, as in the
   julia program: to its listener thread, which probes the handler on itself (jl_ignore_sigint)
   and then throws InterruptException into the running code at its next safe point. */
static void on_sigint(int sig, siginfo_t *info, void *ctx) {
    if (sigint_to_julia && listener_tid > 0) {
        pid_t self = (pid_t)syscall(SYS_gettid);
        if (self == listener_tid) call_action(&julia_sigint, sig, info, ctx);
        else syscall(SYS_tgkill, getpid(), listener_tid, sig);
        return;
    }
    interrupt_flag = 1;
    call_action(&python_sigint, sig, info, ctx);
}

/* SIGUSR2: Julia signals its own threads with it (pthread_kill: SI_TKILL from this process);
   any other SIGUSR2 gets the disposition the process had before Julia (default: terminate). */
static void on_sigusr2(int sig, siginfo_t *info, void *ctx) {
    if (info && info->si_code == SI_TKILL && info->si_pid == getpid())
        call_action(&julia_sigusr2, sig, info, ctx);
    else
        call_action(&before_sigusr2, sig, info, ctx);
}

/* install_signals(address of SIGUSR2's pre-Julia struct sigaction, address of Julia's SIGINT
   struct sigaction, Julia's listener thread id or 0) -> address of the interrupt flag. Wraps the
   current SIGINT handler (Python's) and SIGUSR2 handler (Julia's). SIGINT is left alone when it is
   ignored or default (nothing to chain to: Ctrl-C already does what it did). */
static PyObject *fp_install_signals(PyObject *self, PyObject *args) {
    static int installed = 0;
    unsigned long long before_addr, jint_addr;
    long long listener;
    if (!PyArg_ParseTuple(args, "KKL", &before_addr, &jint_addr, &listener)) return NULL;
    void *before = (void *)(uintptr_t)before_addr;
    if (!installed) {
        if (jint_addr) memcpy(&julia_sigint, (void *)(uintptr_t)jint_addr, sizeof julia_sigint);
        listener_tid = jint_addr ? (pid_t)listener : 0;
        struct sigaction cur, act;
        if (sigaction(SIGINT, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO ? cur.sa_sigaction != NULL
                : (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN))) {
            python_sigint = cur;
            act = cur;
            act.sa_flags = cur.sa_flags | SA_SIGINFO;
            act.sa_sigaction = on_sigint;
            sigaction(SIGINT, &act, NULL);
        }
        if (before && sigaction(SIGUSR2, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO)) {
            memcpy(&before_sigusr2, before, sizeof before_sigusr2);
            julia_sigusr2 = cur;
            act = cur;
            act.sa_sigaction = on_sigusr2;
            sigaction(SIGUSR2, &act, NULL);
        }
        installed = 1;
    }
    return PyLong_FromVoidPtr((void *)&interrupt_flag);
}

/* sigint_to_julia(on) -> previous: route Ctrl-C to Julia (around eval and REPL calls). */
static PyObject *fp_sigint_to_julia(PyObject *self, PyObject *arg) {
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
    int prev = sigint_to_julia;
    sigint_to_julia = on && listener_tid > 0;
    return PyBool_FromLong(prev);
}

/* check_signals(): run Python's pending signal handlers now (they may raise). */
static PyObject *fp_check_signals(PyObject *self, PyObject *unused) {
    if (PyErr_CheckSignals() < 0) return NULL;
    Py_RETURN_NONE;
}

/* wire_constants() -> dict: the word format values compiled in (jtensor_wire.h), by the names of
   python/jtensor/wire_format.py `constants`; Python refuses a build from another table. */
static PyObject *fp_wire_constants(PyObject *self, PyObject *unused) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
#define ADD_CONSTANT(name, value) { \
        PyObject *v = PyLong_FromLongLong(value); \
        if (!v || PyDict_SetItemString(d, name, v) < 0) { Py_XDECREF(v); Py_DECREF(d); return NULL; } \
        Py_DECREF(v); }
    WIRE_CONSTANTS(ADD_CONSTANT)
#undef ADD_CONSTANT
    return d;
}

static PyMethodDef methods[] = {
    {"wire_constants", fp_wire_constants, METH_NOARGS, "wire_constants() -> dict: the word format compiled in."},
    {"mark_owner", fp_mark_owner, METH_NOARGS, "mark_owner(): this thread started Julia; only it may call Julia."},
    {"install_signals", fp_install_signals, METH_VARARGS,
     "install_signals(usr2 before, julia sigint, listener tid) -> address of the Ctrl-C flag the engine polls."},
    {"sigint_to_julia", fp_sigint_to_julia, METH_O, "sigint_to_julia(on) -> previous: route Ctrl-C to Julia."},
    {"check_signals", fp_check_signals, METH_NOARGS, "check_signals(): run pending Python signal handlers now."},
    {"call", (PyCFunction)(void (*)(void))fp_call, METH_FASTCALL,
     "call(opid, kinds, args, ungraded) -> Tensor | int status | None: run a fn op with a simple signature."},
    {"drain", fp_drain, METH_NOARGS, "drain() -> bool: release queued Julia handles; False: Python must."},
    {"wrap", (PyCFunction)(void (*)(void))fp_wrap, METH_FASTCALL,
     "wrap(ptr, count, code, typestr, handle) -> ndarray over Julia-made memory, released when dropped."},
    {"init", fp_init, METH_VARARGS, "Bind to the Tensor type, dtype table, Julia plan runner and caches."},
    {"map", (PyCFunction)(void (*)(void))fp_map, METH_FASTCALL,
     "map(opid, args, extras[, ungraded[, into]]) -> Tensor | int status | None: run a registered elementwise "
     "signature (into: in place, writing into args[0])."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastpath", "Hot path of elementwise ops.", -1, methods};

PyMODINIT_FUNC PyInit__fastpath(void) {
    import_array();
    str_code = PyUnicode_InternFromString("code");
    str_requires_grad = PyUnicode_InternFromString("requires_grad");
    one = PyLong_FromLong(1);
    if (PyType_Ready(&JuliaOwnedType) < 0) return NULL;
    SizeBaseType.tp_base = &PyTuple_Type;
    if (PyType_Ready(&SizeBaseType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&JuliaOwnedType);
    if (PyModule_AddObject(m, "JuliaOwned", (PyObject *)&JuliaOwnedType) < 0) { Py_DECREF(m); return NULL; }
    Py_INCREF(&SizeBaseType);
    if (PyModule_AddObject(m, "SizeBase", (PyObject *)&SizeBaseType) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
