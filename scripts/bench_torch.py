#!/usr/bin/env python3
"""The seed's autoencoder rewritten in PyTorch (CPU), for `rec-bench`'s speed comparison.

A plain, reasonably efficient PyTorch version of what `rec-train` does with the same settings:
dense batch rows (zeros where unrated), every output computed, mean squared error masked to
the rated entries, PyTorch's Adam or RMSprop (L2 weight decay on the weights only, as
rec-train), rows shuffled each epoch, and after each epoch the train RMSE of a full forward
pass (predictions clipped to the rating scale), as rec-train logs it.

Input: the files `rec-bench` writes (little-endian): for train and test, `<name>.users`
(int32 row indices), `<name>.items` (int32 column indices) and `<name>.ratings` (float32).
Output: one JSON object on stdout with the seconds of each epoch (all of it, and its training
steps alone) and the test RMSE of the model fed its train ratings.

    bench_torch.py --data DIR --users 6040 --items 3706 --hidden 200,100,200 \\
        --activation sigmoid --optimizer adam --lr 0.005 --batch 512 --epochs 50 --threads 2
"""
import argparse
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from torch import nn  # noqa: E402


def read(folder, name, users, items):
    def raw(suffix, dtype):
        with open(os.path.join(folder, f"{name}.{suffix}"), "rb") as f:
            return torch.frombuffer(bytearray(f.read()), dtype=dtype)
    u, i, r = raw("users", torch.int32).long(), raw("items", torch.int32).long(), raw("ratings", torch.float32)
    dense = torch.zeros(users, items)
    dense[u, i] = r
    return dense, u, i, r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--hidden", default="200,100,200")
    ap.add_argument("--activation", default="sigmoid", choices=["sigmoid", "tanh", "relu", "identity"])
    ap.add_argument("--optimizer", default="adam", choices=["adam", "rmsprop"])
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", default="1,5", help="lowest,highest rating: predictions are clipped to it")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    low, high = (float(x) for x in a.scale.split(","))
    x_train, *_ = read(a.data, "train", a.users, a.items)
    _, tu, ti, tr = read(a.data, "test", a.users, a.items)
    mask = (x_train != 0).float()

    sizes = [a.items] + [int(h) for h in a.hidden.split(",")] + [a.items]
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}[a.activation]
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(act())
    model = nn.Sequential(*layers)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    groups = [{"params": weights, "weight_decay": a.weight_decay}, {"params": biases, "weight_decay": 0.0}]
    opt = torch.optim.Adam(groups, lr=a.lr) if a.optimizer == "adam" else torch.optim.RMSprop(groups, lr=a.lr)

    rows = torch.nonzero(mask.sum(1) > 0).squeeze(1)
    epochs = []
    for epoch in range(a.epochs):
        start = time.perf_counter()
        model.train()
        order = rows[torch.randperm(len(rows))]
        for batch in order.split(a.batch):
            x, m = x_train[batch], mask[batch]
            loss = ((model(x) - x) * m).pow(2).sum() / m.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        steps = time.perf_counter() - start
        with torch.inference_mode():
            model.eval()
            sq, n = 0.0, 0.0
            for chunk in rows.split(1024):
                x, m = x_train[chunk], mask[chunk]
                e = (model(x).clamp(low, high) - x) * m
                sq += float(e.pow(2).sum())
                n += float(m.sum())
        epochs.append({"epoch": epoch + 1, "seconds": time.perf_counter() - start, "stepSeconds": steps, "loss": float(loss),
                       "trainRMSE": (sq / n) ** 0.5})

    with torch.inference_mode():
        model.eval()
        pred = torch.empty_like(tr)
        for chunk in torch.arange(a.users).split(1024):
            out = model(x_train[chunk]).clamp(low, high)
            sel = (tu >= int(chunk[0])) & (tu <= int(chunk[-1]))
            pred[sel] = out[tu[sel] - int(chunk[0]), ti[sel]]
        test_rmse = float((pred - tr).pow(2).mean().sqrt())
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "epochs": epochs,
               "seconds": sum(e["seconds"] for e in epochs), "testRMSE": test_rmse}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
