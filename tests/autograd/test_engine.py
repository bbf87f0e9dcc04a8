"""Reverse-mode behaviour: accumulation, no_grad, retain_graph, deep graphs, hooks, Function, errors."""
import gc
import weakref

import numpy as np
import pytest

import lamina as L
from lamina.autograd import Function


def test_gradients_accumulate_across_backward_calls():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [3 + 2, 3 + 4]


def test_shared_subexpression_sums_gradients():
    x = L.tensor(3.0, requires_grad=True)
    y = x * x
    z = y + y * x  # x^2 + x^3
    z.backward()
    assert x.grad.item() == pytest.approx(2 * 3 + 3 * 9)


def test_no_grad_builds_no_graph_and_keeps_no_activations():
    w = L.randn(4, 4, requires_grad=True)
    with L.no_grad():
        y = (w @ w).relu().sum()
    assert not y.requires_grad and y.grad_fn is None
    # the activation of an inference-mode op is not referenced by anything
    with L.no_grad():
        h = w @ w
        ref = weakref.ref(h._data)
        out = h.relu()
    del h
    gc.collect()
    assert ref() is None and out.grad_fn is None


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = L.ones(2, requires_grad=True)

    @L.no_grad()
    def f():
        with L.enable_grad():
            return (x * 2).sum()

    assert f().requires_grad
    assert not L.no_grad()(lambda: x * 2)().requires_grad
    with L.set_grad_enabled(False):
        assert not L.is_grad_enabled()
    assert L.is_grad_enabled()


def test_second_backward_without_retain_graph_raises_clear_error():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1)


def test_saved_buffers_are_released_after_backward():
    x = L.randn(100, requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h._node)
    y = (h * 2).sum()
    node = y._node
    y.backward()
    assert node.inputs is None and node.freed
    assert ref().inputs is None


def test_deep_chain_of_100000_ops_backpropagates():
    x = L.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_deep_chain_create_graph_second_order():
    x = L.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.0 + 0.0
    y = y ** 3
    (g,) = L.autograd.grad(y, x, create_graph=True)
    (h,) = L.autograd.grad(g, x)
    assert h.item() == pytest.approx(6 * 0.5)


def test_grad_of_grad_to_third_order():
    x = L.tensor(2.0, dtype=L.float64, requires_grad=True)
    y = x.sin() * x ** 3
    d1 = L.autograd.grad(y, x, create_graph=True)[0]
    d2 = L.autograd.grad(d1, x, create_graph=True)[0]
    d3 = L.autograd.grad(d2, x)[0]
    v = 2.0
    expected = (-np.cos(v) * v**3 - 9 * np.sin(v) * v**2 + 18 * np.cos(v) * v + 6 * np.sin(v))
    assert d3.item() == pytest.approx(expected, rel=1e-10)


def test_autograd_grad_leaves_dot_grad_alone_and_reports_unused():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    z = L.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    (g,) = L.autograd.grad(y, x, retain_graph=True)
    assert x.grad is None and g.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="not used"):
        L.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = L.autograd.grad(y, [x, z], allow_unused=True)
    assert gz is None


def test_grad_with_respect_to_intermediate_tensor():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    (gh,) = L.autograd.grad(y, h)
    assert gh.tolist() == [4.0, 8.0]


def test_backward_with_gradient_argument_and_inputs():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    w = L.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    y.backward(L.tensor([1.0, 10.0]), inputs=[x])
    assert x.grad.tolist() == [3.0, 40.0] and w.grad is None


def test_non_scalar_backward_without_gradient_names_the_shape():
    x = L.ones(3, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(3, 2\)"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        L.ones(2).sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        L.tensor([1, 2, 3], requires_grad=True)


def test_detach_and_requires_grad_():
    x = L.ones(2, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    leaf = L.zeros(2).requires_grad_()
    assert leaf.requires_grad and leaf.is_leaf


def test_retain_grad_and_hooks():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]
    assert seen == [[6.0, 12.0]]
    assert x.grad.tolist() == [180.0, 360.0]


def test_leaf_grads_do_not_share_memory():
    a = L.ones(3, requires_grad=True)
    b = L.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_inplace_update_of_leaf_requires_no_grad():
    w = L.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place.*no_grad"):
        w.add_(1)
    with L.no_grad():
        w -= 0.5 * L.ones(2)
        w.add_(L.ones(2), alpha=2)
    assert w.tolist() == [2.5, 2.5] and w.requires_grad


def test_create_graph_gives_differentiable_dot_grad():
    x = L.tensor(3.0, dtype=L.float64, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (h,) = L.autograd.grad(g, x)
    assert h.item() == pytest.approx(18.0)


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * t


class ScaledExp(Function):
    @staticmethod
    def forward(ctx, x, k):
        y = (x * k).exp()
        ctx.k = k
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * ctx.k, None


def test_user_function_backward_jvp_and_double_backward():
    x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True)
    assert L.autograd.gradcheck(Cube.apply, (x,), check_forward_ad=True)
    (g,) = L.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = L.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    assert L.autograd.gradcheck(lambda t: ScaledExp.apply(t, 0.7), (x,))
    (g,) = L.autograd.grad(ScaledExp.apply(x, 0.7).sum(), x, create_graph=True)
    (h,) = L.autograd.grad(g.sum(), x)  # saved output re-enters the graph
    np.testing.assert_allclose(h.numpy(), 0.49 * np.exp(0.7 * x.numpy()))


def test_function_with_wrong_number_of_gradients_is_explained():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    a, b = L.ones(2, requires_grad=True), L.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 values but forward took 2"):
        Bad.apply(a, b).sum().backward()


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2x

    x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
    with pytest.raises(L.autograd.GradcheckError, match="does not match"):
        L.autograd.gradcheck(Wrong.apply, (x,))
    assert not L.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)


def test_float32_stays_float32_through_ops_and_gradients():
    x = L.randn(4, 3, requires_grad=True)
    w = L.randn(3, 2, requires_grad=True)
    y = ((x @ w).tanh() * 2.0 + 1).log_softmax(-1).mean() / 3 + (x ** 2).sum() * 0.5 + x.var() + x.exp().max()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_mixed_dtype_gradient_is_cast_back_to_input_dtype():
    x = L.ones(3, requires_grad=True)  # float32
    w = L.tensor(np.ones(3), requires_grad=True)  # float64
    (x * w).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64


def test_grad_mode_is_per_thread():
    import threading

    inside, release = threading.Event(), threading.Event()

    def other():
        with L.no_grad():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    try:
        x = L.ones(2, requires_grad=True)
        assert (x * 2).requires_grad  # the other thread's no_grad does not leak here
    finally:
        release.set()
        t.join()
