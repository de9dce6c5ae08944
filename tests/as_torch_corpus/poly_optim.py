"""The tutorial's optim version (RMSprop), plus Adagrad and Adadelta phases; parameters set via .data."""
import math

import numpy as np
import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
rng = np.random.default_rng(2)
for param in model.parameters():
    param.data = torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(param.shape)).astype(np.float32))
loss_fn = torch.nn.MSELoss(reduction="sum")

for opt_class, kwargs, steps in ((torch.optim.RMSprop, dict(lr=1e-3), 600),
                                 (torch.optim.Adagrad, dict(lr=1e-2, lr_decay=1e-3), 200),
                                 (torch.optim.Adadelta, dict(lr=0.5, rho=0.9), 200)):
    optimizer = opt_class(model.parameters(), **kwargs)
    for t in range(steps):
        loss = loss_fn(model(xx), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(opt_class.__name__, loss.item())

print("final loss:", loss.item())
