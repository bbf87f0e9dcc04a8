"""Softmax regression from scratch (the d2l chapter): ``softmax`` written as ``X_exp / X_exp.sum(1,
keepdim=True)``, the cross-entropy as ``-torch.log(y_hat[range(len(y_hat)), y])``, an accuracy from
``argmax(axis=1)`` and ``type(y.dtype)``, a minibatch ``sgd`` that divides by the batch size, an
``Accumulator`` of sums; weights (``torch.normal`` in the book) passed in."""
from __future__ import annotations

import numpy as np
import pytest
from _harness import compare

NUM_INPUTS, NUM_OUTPUTS = 12, 4


def program(torch, init):
    W = torch.tensor(init["W"], requires_grad=True)
    b = torch.zeros(NUM_OUTPUTS, requires_grad=True)
    features, labels = torch.tensor(init["x"]), torch.tensor(init["y"])

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    losses, accs = [], []
    batch_size = 10
    for _epoch in range(3):
        metric = [0.0, 0.0, 0.0]
        for i in range(0, len(features), batch_size):
            X, y = features[i:i + batch_size], labels[i:i + batch_size]
            y_hat = net(X)
            l = cross_entropy(y_hat, y)  # noqa: E741 (the book's name)
            l.sum().backward()
            sgd([W, b], 0.1, X.shape[0])
            metric = [m + v for m, v in zip(metric, (float(l.sum()), accuracy(y_hat, y), y.numel()))]
        losses.append(metric[0] / metric[2])
        accs.append(metric[1] / metric[2])
    return {"losses": losses, "accuracy": accs, "W": W, "b": b}


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")  # the book's float(l.sum())
def test_softmax_regression_from_scratch():
    rng = np.random.default_rng(29)
    init = {"W": rng.normal(0, 0.01, (NUM_INPUTS, NUM_OUTPUTS)).astype(np.float32),
            "x": rng.standard_normal((40, 3, 4)).astype(np.float32), "y": rng.integers(0, NUM_OUTPUTS, 40)}
    compare(program, init, "float32")
