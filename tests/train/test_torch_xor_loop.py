"""A PyTorch XOR training loop, written for torch, runs with `lamina` imported as `torch`."""
import numpy as np

import lamina as torch  # the only change to the PyTorch code
import lamina.nn as nn

device = "cpu"


def test_pytorch_xor_training_loop_runs_unchanged():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(4000, 2))
    y = ((X[:, 0] >= 0) ^ (X[:, 1] >= 0)).astype(float)
    X_train, y_train = X.astype(np.float32), torch.tensor(y, dtype=torch.float32)

    class XOR_Net(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim):
            super().__init__()
            self.fc1 = nn.Linear(input_dim, hidden_dim)
            self.sigmoid = nn.Sigmoid()
            self.fc2 = nn.Linear(hidden_dim, output_dim)

        def forward(self, x):
            out = self.fc1(x)
            out = self.sigmoid(out)
            out = self.fc2(out)
            return out

    torch.manual_seed(0)
    model = XOR_Net(2, 8, 1)
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.15)
    losses = []
    for epoch in range(3000):
        outputs = model(torch.from_numpy(X_train))
        loss = criterion(outputs, torch.unsqueeze(y_train, 1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if (epoch + 1) % 500 == 0:
            losses.append(loss.item())

    assert isinstance(model, nn.Module)
    X_test = rng.uniform(-1, 1, size=(4000, 2))
    y_test = ((X_test[:, 0] >= 0) ^ (X_test[:, 1] >= 0)).astype(int)
    prediction = model(
        torch.tensor(X_test, dtype=torch.float32).to(device)
    ).cpu().detach().numpy().squeeze()
    accuracy = ((prediction > 0.).astype(int) == y_test).mean()
    assert losses[-1] < losses[0]
    assert accuracy > 0.8
