#!/usr/bin/python3
"""The distillation step of bench/kd_bench.cc in PyTorch (Debian's
python3-torch, the same LibTorch version as the C++ build): teacher WRN-16-4,
student WRN-16-1 on Fashion-MNIST (1x28x28), batch 128, Hinton KD (T=4,
alpha=0.9) + attention transfer (beta=1000) at the three group ends, SGD
momentum 0.9 Nesterov, weight decay 5e-4. The networks are built exactly as
common/torch/torch_network.cc builds WideResNet specs (pre-activation basic
blocks, 1x1 shortcut on the activated input where the shape changes, BN-ReLU
head). Prints "metric: value" lines."""
import argparse
import gzip
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(i, o, k, s=1):
    return nn.Conv2d(i, o, k, stride=s, padding=k // 2, bias=False)


class Block(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(i)
        self.body = nn.Sequential(conv(i, o, 3, stride), nn.BatchNorm2d(o), nn.ReLU(), conv(o, o, 3))
        self.shortcut = conv(i, o, 1, stride) if (i != o or stride != 1) else None

    def forward(self, x):
        a = F.relu(self.bn1(x))
        return self.body(a) + (self.shortcut(a) if self.shortcut is not None else x)


class WRN(nn.Module):
    def __init__(self, depth, k, in_ch=1, classes=10):
        super().__init__()
        n = (depth - 4) // 6
        self.stem = conv(in_ch, 16, 3)
        c = 16
        self.stages = nn.ModuleList()
        for w, s in ((16 * k, 1), (32 * k, 2), (64 * k, 2)):
            blocks = []
            for b in range(n):
                blocks.append(Block(c, w, s if b == 0 else 1))
                c = w
            self.stages.append(nn.Sequential(*blocks))
        self.head_bn = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        h = self.stem(x)
        feats = []
        for st in self.stages:
            h = st(h)
            feats.append(h)
        h = F.relu(self.head_bn(h))
        h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        return self.fc(h), feats


def at(x):
    return F.normalize(x.pow(2).mean(1).flatten(1))


def kd_loss(s, t, y, T=4.0, alpha=0.9):
    kl = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean")
    return kl * (alpha * T * T) + F.cross_entropy(s, y) * (1 - alpha)


def load_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, r, c = struct.unpack(">III", data[4:16])
    return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).view(n, 1, r, c), n


def load_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup-steps", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--teacher-width", type=int, default=4)
    p.add_argument("--student-width", type=int, default=1)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    images, n = load_images(a.data + "/train-images-idx3-ubyte.gz")
    labels = load_labels(a.data + "/train-labels-idx1-ubyte.gz")
    teacher, student = WRN(16, a.teacher_width), WRN(16, a.student_width)
    teacher.eval()
    student.train()
    opt = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    perm = torch.randperm(n)

    def step(i):
        idx = perm[(i * a.batch_size) % (n - a.batch_size):][: a.batch_size]
        x = (images[idx].float() / 255.0 - 0.2860) / 0.3530
        # The same augmentation as the C++ loader: pad 4, random crop, flip.
        x = F.pad(x, (4, 4, 4, 4), value=-0.2860 / 0.3530)
        dx, dy = torch.randint(0, 9, (2,)).tolist()
        x = x[:, :, dy:dy + 28, dx:dx + 28]
        if torch.rand(1).item() < 0.5:
            x = x.flip(3)
        y = labels[idx]
        out, sf = student(x)
        with torch.no_grad():
            tout, tf = teacher(x)
        loss = kd_loss(out, tout, y) + 1000 / 2 * sum((at(s) - at(t)).pow(2).mean() for s, t in zip(sf, tf))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(a.warmup_steps):
        step(i)
    start = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup_steps + i)
    elapsed = time.perf_counter() - start
    print("torch_version: %s" % torch.__version__)
    print("teacher_params: %d" % sum(q.numel() for q in teacher.parameters()))
    print("student_params: %d" % sum(q.numel() for q in student.parameters()))
    print("last_loss: %.4f" % loss)
    print("kd_images_per_s_pytorch: %.1f" % (a.steps * a.batch_size / elapsed))


if __name__ == "__main__":
    main()
