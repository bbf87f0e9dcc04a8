"""lamina.parallel: a master hands work to many workers, on any
``concurrent.futures.Executor``.

    from lamina import parallel

    with parallel.local_executor(2) as pool:                 # 2 worker processes
        loss = parallel.data_parallel_step(model, nn.CrossEntropyLoss(), (x, y), pool, n_shards=2,
                                           optimizer=opt)

``data_parallel_step`` is map-reduce data parallelism: shards of the batch go to the workers,
each returns its gradient, the master adds them up weighted by shard size (the result is the
gradient of the whole batch) and takes one optimizer step.  ``DataParallel`` keeps a pool open
across steps.  A Dask cluster (``client.get_executor()``) or ``mpi4py.futures`` work the same
way; hyperparameter search runs its trials on the same executors (``lamina.tune``).  The workers
of ``local_executor`` exit when the master process dies, even by SIGKILL (``exit_with_master``).
"""
from .data_parallel import DataParallel, data_parallel_step, shard_batch
from .executors import exit_with_master, limit_blas_threads, local_executor, map_ordered

__all__ = ["data_parallel_step", "DataParallel", "shard_batch", "local_executor", "map_ordered", "limit_blas_threads",
           "exit_with_master"]
