"""The DCGAN example at a small size: a generator of ``ConvTranspose2d`` + ``BatchNorm2d`` + ReLU ending in Tanh,
a discriminator of strided ``Conv2d`` + LeakyReLU ending in a Sigmoid, the ``weights_init`` of the example
applied with ``Module.apply``, ``BCELoss`` with ``label.fill_``, Adam with β₁ = 0.5. The noise is passed in."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for

NZ, NGF, NDF = 4, 4, 4


def build(torch):
    nn = torch.nn
    netG = nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),   # 4x4
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),      # 8x8
        nn.ConvTranspose2d(NGF, 1, 4, 2, 1, bias=False), nn.Tanh())                                     # 16x16
    netD = nn.Sequential(
        nn.Conv2d(1, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),                       # 8x8
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid())                                      # 1x1
    return {"G": netG, "D": netD}


def program(torch, init):
    nn = torch.nn
    nets = build(torch)
    netG, netD = nets["G"], nets["D"]

    def weights_init(m):  # the example's init, with its normal draws replaced by a constant and the given weights
        classname = m.__class__.__name__
        if classname.find("BatchNorm") != -1:
            nn.init.constant_(m.weight.data, 1.0)
            nn.init.constant_(m.bias.data, 0)

    netG.apply(weights_init)
    netD.apply(weights_init)
    conv_weights = {k: torch.tensor(v) for k, v in init["G"].items() if k.endswith("weight") and v.ndim == 4}
    netG.load_state_dict({**netG.state_dict(), **conv_weights})
    netD.load_state_dict({**netD.state_dict(),
                          **{k: torch.tensor(v) for k, v in init["D"].items() if k.endswith("weight") and v.ndim == 4}})
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    data, noises = torch.tensor(init["real"]), torch.tensor(init["noise"])
    errDs, errGs, D_G_z = [], [], []
    for i in range(3):
        netD.zero_grad()
        real_cpu = data[6 * i:6 * i + 6]
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        fake = netG(noises[i])
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        errDs.append((errD_real + errD_fake).item())
        errGs.append(errG.item())
        D_G_z.append(output.mean().item())
    return {"errD": errDs, "errG": errGs, "D_G_z": D_G_z, "G": netG.state_dict(), "D": netD.state_dict()}


def test_dcgan_generator_and_discriminator():
    rng = np.random.default_rng(11)
    init = {**weights_for(build, rng), "real": np.tanh(rng.standard_normal((18, 1, 16, 16))).astype(np.float32),
            "noise": rng.standard_normal((3, 6, NZ, 1, 1)).astype(np.float32)}
    compare(program, init, "float32")
