"""Map-reduce data parallelism: the combined shard gradients equal the single-process
gradient of the whole batch, on every kind of executor."""
from concurrent.futures import ThreadPoolExecutor

import distributed
import numpy as np
import pytest

import lamina
from lamina import nn, optim, parallel
from lamina.models.small_cnn import SmallCNN


def make_mlp():
    """A module-level factory (picklable for a process pool)."""
    lamina.manual_seed(3)
    return nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 4)).double()


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(53, 6))
    y = rng.integers(0, 4, size=53)
    return x, y


def full_batch(model, loss_fn, x, y):
    model.zero_grad()
    loss = loss_fn(model(lamina.tensor(x)), lamina.tensor(y))
    loss.backward()
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    model.zero_grad()
    return float(loss.item()), grads


def assert_same(model, ref, tol=1e-10):
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref[n], rtol=tol, atol=tol, err_msg=n)
        assert p.grad.dtype == p.dtype


@pytest.fixture(scope="module")
def process_pool():
    with parallel.local_executor(2) as pool:
        yield pool


@pytest.mark.parametrize("n_shards", [1, 2, 3, 5])
def test_inline_shards_equal_full_batch_gradient(problem, n_shards):
    x, y = problem
    model = make_mlp()
    loss_ref, ref = full_batch(model, nn.CrossEntropyLoss(), x, y)
    loss = parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), None, n_shards)
    assert abs(loss - loss_ref) < 1e-12
    assert_same(model, ref)


def test_process_pool_two_workers(problem, process_pool):
    x, y = problem
    model = make_mlp()
    loss_ref, ref = full_batch(model, nn.CrossEntropyLoss(), x, y)
    for _ in range(2):   # the second step reuses the workers' cached models
        loss = parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), process_pool, 4)
        assert abs(loss - loss_ref) < 1e-12
        assert_same(model, ref)


def test_process_pool_with_factory_sum_loss_and_optimizer_step(problem, process_pool):
    x, y = problem
    model, twin = make_mlp(), make_mlp()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    _, ref = full_batch(twin, loss_fn, x, y)
    opt, opt_twin = optim.SGD(model.parameters(), lr=0.01), optim.SGD(twin.parameters(), lr=0.01)
    for p, g in zip(twin.parameters(), ref.values()):
        p.grad = lamina.tensor(g)
    opt_twin.step()
    parallel.data_parallel_step(model, loss_fn, (x, y), process_pool, 2, opt, model_factory=make_mlp)
    assert_same(model, ref)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-12)


def test_thread_pool_and_data_parallel_wrapper(problem):
    x, y = problem
    model = make_mlp()
    _, ref = full_batch(model, nn.CrossEntropyLoss(), x, y)
    with ThreadPoolExecutor(2) as pool:
        dp = parallel.DataParallel(model, nn.CrossEntropyLoss(), executor=pool, n_shards=3)
        dp.step((lamina.tensor(x), lamina.tensor(y)))
        assert_same(model, ref)
        dp.close()
        assert not pool._shutdown        # a pool it was given is not its to close


def test_batchnorm_buffers_come_back_averaged():
    lamina.manual_seed(0)
    model = SmallCNN(10, 1, width=2, dropout=0.0).double()
    x = np.random.default_rng(1).normal(size=(12, 1, 8, 8))
    y = np.arange(12) % 10
    bn = model.features[1]
    before = bn.running_mean.numpy().copy()
    parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), None, 2)
    assert int(bn.num_batches_tracked.item()) == 1
    # running_mean = (1 - m) r + m · (size-weighted mean of the shard means) = the full-batch update
    lamina.manual_seed(0)
    ref = SmallCNN(10, 1, width=2, dropout=0.0).double()
    nn.CrossEntropyLoss()(ref(lamina.tensor(x)), lamina.tensor(y))
    np.testing.assert_allclose(bn.running_mean.numpy(), ref.features[1].running_mean.numpy(), atol=1e-12)
    assert not np.allclose(bn.running_mean.numpy(), before)


def test_dropout_is_reproducible_by_seed(problem):
    x, y = problem
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.5), nn.Linear(16, 4)).double()
    a = parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), None, 2, seed=7)
    ga = [p.grad.numpy().copy() for p in model.parameters()]
    with ThreadPoolExecutor(2) as pool:
        b = parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), pool, 2, seed=7)
    assert a == b
    for g, p in zip(ga, model.parameters()):
        np.testing.assert_array_equal(g, p.grad.numpy())


def test_dask_local_cluster(problem):
    x, y = problem
    model = make_mlp()
    loss_ref, ref = full_batch(model, nn.CrossEntropyLoss(), x, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        loss = parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), client.get_executor(), 2)
    assert abs(loss - loss_ref) < 1e-12
    assert_same(model, ref)


def bad_loss(out, y):
    raise ValueError("boom in the worker")


def test_errors_are_clear(problem, process_pool):
    x, y = problem
    model = make_mlp()
    with pytest.raises(ValueError, match="n_shards=60 is more than the batch size 53"):
        parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), None, 60)
    with pytest.raises(ValueError, match="inputs have 53 samples but targets have 52"):
        parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y[:-1]), None, 2)
    with pytest.raises(TypeError, match="picklable loss_fn"):
        parallel.data_parallel_step(model, lambda o, t: o.sum(), (x, y), process_pool, 2)
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), object(), 2)
    with pytest.raises(RuntimeError, match=r"shard [01] of 2 failed on ProcessPoolExecutor: ValueError: boom in the worker"):
        parallel.data_parallel_step(model, bad_loss, (x, y), process_pool, 2)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        parallel.data_parallel_step(model, nn.CrossEntropyLoss(reduction="none"), (x, y), None, 2)
