"""A CIFAR-tutorial-style CNN loop: conv/pool/linear, CrossEntropyLoss, SGD with momentum, device handling,
`torch.max(outputs.data, 1)` accuracy, running loss, AdaptiveAvgPool2d."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from _common import init_from_numpy, random_images

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
classes = ("plane", "car", "bird", "cat")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.gap = nn.AdaptiveAvgPool2d((2, 2))
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, len(classes))

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.gap(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


net = Net()
init_from_numpy(net, 10)
net.to(device)
images, labels = random_images(11, 64, 3, 12, len(classes))
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

for epoch in range(4):
    running_loss = 0.0
    for i in range(0, 64, 16):
        inputs = torch.from_numpy(images[i:i + 16]).to(device)
        target = torch.from_numpy(labels[i:i + 16]).to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, target)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f"[{epoch + 1}] loss: {running_loss / 4:.3f}")

correct = total = 0
with torch.no_grad():
    outputs = net(torch.from_numpy(images).to(device))
    _, predicted = torch.max(outputs.data, 1)
    target = torch.from_numpy(labels)
    total += target.size(0)
    correct += (predicted == target).sum().item()
print(f"accuracy {100 * correct // total} %; first: {classes[predicted[0]]}")
print("final loss:", running_loss / 4)
