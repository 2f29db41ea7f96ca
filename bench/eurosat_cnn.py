"""The PyTorch module equivalent to constsim's CNN (ml/nn.h), shared by the reference scripts.

Three conv-BN-ReLU-maxpool blocks (5x5 3->32, 5x5 32->64, 3x3 64->96, no padding) and three
linear layers (2400->128->128->10): 434,602 parameters, state_dict names as constsim's model
files (conv1.weight, bn1.running_mean, fc1.weight, ...).
"""
import torch
from torch import nn
from torch.nn import functional as F


class EuroSatCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 5)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 96, 3)
        self.bn3 = nn.BatchNorm2d(96)
        self.fc1 = nn.Linear(2400, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
