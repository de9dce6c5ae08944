"""Fit sin(x) with a cubic: raw tensors, autograd, and in-place updates under no_grad (the PyTorch tutorial)."""
import math

import numpy as np
import torch

dtype = torch.float
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

start = np.random.default_rng(0).standard_normal(4).astype(np.float32)   # the same start in any framework
a, b, c, d = (torch.tensor(float(v), device=device, dtype=dtype, requires_grad=True) for v in start)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 500 == 99:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
print("final loss:", loss.item())
