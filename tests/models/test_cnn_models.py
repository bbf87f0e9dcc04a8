"""The CNNs of lamina.models: each does a forward and backward pass on a small 28×28 batch with the right
output shape and a gradient for every parameter; LeNet-5, a ResNet and a UNet also match the same
network built in PyTorch (state_dict loaded across), in value and in every parameter gradient."""
import numpy as np
import pytest
import torch
from torch import nn as tnn
from torch_twins import TorchLeNet5

import lamina
from lamina import models

MODELS = [
    ("lenet5", lambda: models.LeNet5(), (3, 1, 28, 28), (3, 10)),
    ("lenet5_tanh_avg_32", lambda: models.LeNet5(num_classes=4, in_channels=3, input_size=32, activation="tanh",
                                                 pooling="avg"), (2, 3, 32, 32), (2, 4)),
    ("resnet18_mnist", lambda: models.resnet18(stem="mnist", width=4), (2, 1, 28, 28), (2, 10)),
    ("resnet34_cifar", lambda: models.resnet34(num_classes=5, stem="cifar", width=2), (2, 3, 28, 28), (2, 5)),
    ("resnet_imagenet_stem", lambda: models.ResNet((1, 1), stem="imagenet", width=4), (2, 3, 28, 28), (2, 10)),
    ("resnet20_style", lambda: models.ResNet((3, 3, 3), stem="mnist", width=4), (2, 1, 28, 28), (2, 10)),
    ("wrn_10_2", lambda: models.wide_resnet(10, 2, in_channels=1, base_width=4, dropout=0.2), (2, 1, 28, 28), (2, 10)),
    ("wrn_16_1", lambda: models.WideResNet(16, 1, num_classes=3, in_channels=1, base_width=4), (2, 1, 28, 28), (2, 3)),
    ("unet_transpose_d3", lambda: models.UNet(1, 3, base_width=4, depth=3), (2, 1, 28, 28), (2, 3, 28, 28)),
    ("unet_bilinear", lambda: models.UNet(1, 2, base_width=4, depth=2, up_mode="bilinear"), (2, 1, 28, 28),
     (2, 2, 28, 28)),
    ("unet_nearest_nobn", lambda: models.UNet(2, 1, base_width=4, depth=2, up_mode="nearest", batchnorm=False),
     (2, 2, 27, 30), (2, 1, 27, 30)),
]


@pytest.mark.parametrize("name,make,xshape,yshape", MODELS, ids=[m[0] for m in MODELS])
def test_forward_backward_shapes(name, make, xshape, yshape):
    lamina.manual_seed(0)
    model = make()
    x = lamina.tensor(np.random.default_rng(7).standard_normal(xshape).astype(np.float32), requires_grad=True)
    y = model(x)
    assert tuple(y.shape) == yshape and y.dtype == lamina.float32
    (y * y).mean().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert np.isfinite(p.grad.numpy()).all(), pname
    model.eval()
    with lamina.no_grad():
        assert tuple(model(x).shape) == yshape


def test_model_errors():
    with pytest.raises(ValueError, match="6n \\+ 4"):
        models.WideResNet(depth=12)
    with pytest.raises(ValueError, match="stem"):
        models.ResNet(stem="tiny")
    with pytest.raises(ValueError, match="too small"):
        models.UNet(depth=3)(lamina.randn(1, 1, 6, 6))


def test_resnet_shortcuts_are_identity_unless_the_shape_changes():
    """Identity shortcut where the shape is kept, a 1×1 projection where it changes."""
    m = models.resnet18(stem="mnist", width=4)
    assert m.layer1[0].downsample is None and m.layer1[1].downsample is None
    proj = m.layer2[0].downsample[0]
    assert proj.kernel_size == (1, 1) and proj.stride == (2, 2)
    assert m.layer2[1].downsample is None


# ------------------------------------------------------------------------------ against PyTorch
class TorchBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = (tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet(tnn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = tnn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(width)
        self.relu = tnn.ReLU()
        self.layer1 = tnn.Sequential(TorchBlock(width, width, 1))
        self.layer2 = tnn.Sequential(TorchBlock(width, 2 * width, 2))
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(2 * width, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchUNet(tnn.Module):
    """UNet(1, 2, base_width=4, depth=1, up_mode='transpose') written out by hand."""

    def __init__(self):
        super().__init__()

        def double(a, b):
            return tnn.Sequential(tnn.Conv2d(a, b, 3, padding=1, bias=False), tnn.BatchNorm2d(b), tnn.ReLU(),
                                  tnn.Conv2d(b, b, 3, padding=1, bias=False), tnn.BatchNorm2d(b), tnn.ReLU())

        class Double(tnn.Module):
            def __init__(self, a, b):
                super().__init__()
                self.block = double(a, b)

            def forward(self, x):
                return self.block(x)

        class Up(tnn.Module):
            def __init__(self):
                super().__init__()
                self.up = tnn.ConvTranspose2d(8, 4, 2, stride=2)
                self.conv = Double(8, 4)

            def forward(self, x, skip):
                return self.conv(torch.cat([skip, self.up(x)], 1))

        self.inc = Double(1, 4)
        self.down = tnn.ModuleList([Double(4, 8)])
        self.up = tnn.ModuleList([Up()])
        self.outc = tnn.Conv2d(4, 2, 1)

    def forward(self, x):
        s = self.inc(x)
        y = self.down[0](tnn.functional.max_pool2d(s, 2))
        return self.outc(self.up[0](y, s))


@pytest.mark.parametrize("which", ["lenet", "resnet", "unet"])
def test_matches_the_same_network_in_pytorch(which):
    lamina.manual_seed(0)
    if which == "lenet":
        lam, tor, shape = models.LeNet5(), TorchLeNet5(), (16, 1, 28, 28)
    elif which == "resnet":
        lam, tor, shape = models.ResNet((1, 1), stem="mnist", width=4), TorchResNet(4), (16, 1, 12, 12)
    else:
        lam, tor, shape = models.UNet(1, 2, base_width=4, depth=1), TorchUNet(), (2, 1, 8, 8)
    tor = tor.float()
    state = {k: torch.tensor(np.array(v.numpy())) for k, v in lam.state_dict().items()}
    tor.load_state_dict(state)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(np.float32)
    yl, yt = lam(lamina.tensor(x)), tor(torch.tensor(x))
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    u = rng.standard_normal(yl.shape).astype(np.float32)
    (yl * lamina.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    tgrads = dict(tor.named_parameters())
    for name, p in lam.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=2e-3, atol=2e-4, err_msg=name)


def test_lenet_fused_forward_equals_layer_by_layer():
    """LeNet5 runs conv → ReLU → max-pool as conv → max-pool → ReLU and conv + ReLU as one op; the values
    and gradients equal those of running its layers one by one."""
    lamina.manual_seed(0)
    model = models.LeNet5()
    x = lamina.tensor(np.random.default_rng(7).standard_normal((20, 1, 28, 28)).astype(np.float32))
    results = []
    for fuse in (True, False):
        model.fuse_activations = fuse
        model.zero_grad()
        y = model(x)
        (y * y).sum().backward()
        results.append((y.numpy().copy(), [p.grad.numpy().copy() for p in model.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)
    for g_fused, g_plain in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(g_fused, g_plain, rtol=1e-5, atol=1e-6)
