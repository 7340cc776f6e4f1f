"""A PyTorch DLRM written to the peer harness's published recipe, timed in the
same run as ours (`cargo test -p recsys --bench ctr` with
RECSYS_CTR_SPEED_DLRM). The peers' own `torch_models.py` is not shipped in
`../shared/peers/ctr` (its README lists it; only results and
`gen_synth_criteo.py` are there), so this follows their README word for word:

- one `nn.Embedding` per categorical field, dim 16, initialised N(0, 1e-4);
- bottom MLP dense -> 64 -> 64 -> 64 -> 16 (ReLU after every layer);
- pairwise dot products of all (bottom + field) vectors, i < j;
- top MLP concat(bottom, dots) -> 64 -> 64 -> 64 -> 1 (ReLU, none on the logit);
- linear layers Xavier-normal, zero bias; BCE with logits; Adam lr 1e-3;
- batch 1,024, one pass shuffled by `torch.Generator().manual_seed(42)`.

The inputs are the rows our bench encoded (same ids, same dense values, same
vocabularies), read from DIR: `meta.json` and little-endian `*.u32` / `*.f32`
arrays. Prints one JSON line: epoch seconds, holdout AUC, parameters, scoring
rows/s. Usage: python dlrm_torch.py DIR THREADS
"""

import json
import os
import sys
import time

threads = int(sys.argv[2])
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = str(threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(threads)


class Dlrm(nn.Module):
    def __init__(self, vocab, n_dense, dim=16, bottom=(64, 64, 64), top=(64, 64, 64)):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v, dim) for v in vocab)
        for t in self.tables:
            nn.init.normal_(t.weight, 0.0, 1e-4)
        layers, width = [], n_dense
        for h in list(bottom) + [dim]:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.bottom = nn.Sequential(*layers)
        n = 1 + len(vocab)
        self.pairs = torch.triu_indices(n, n, offset=1)
        layers, width = [], dim + n * (n - 1) // 2
        for h in top:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.top = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, sparse, dense):
        b = self.bottom(dense)  # [B, d]
        e = torch.stack([b] + [t(sparse[:, f]) for f, t in enumerate(self.tables)], dim=1)  # [B, n, d]
        z = torch.bmm(e, e.transpose(1, 2))  # [B, n, n]
        dots = z[:, self.pairs[0], self.pairs[1]]  # [B, n(n-1)/2]
        return self.top(torch.cat([b, dots], dim=1)).squeeze(1)  # [B]


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    s, y = scores[order], labels[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):  # average ranks of ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    pos = y > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "meta.json")))
    f, nd = len(meta["vocab"]), meta["n_dense"]

    def arr(name, dtype, width):
        a = np.fromfile(os.path.join(d, name), dtype=dtype)
        return a.reshape(-1, width) if width else a

    tr_s = torch.from_numpy(arr("train_sparse.u32", "<u4", f).astype(np.int64))
    tr_d = torch.from_numpy(arr("train_dense.f32", "<f4", nd))
    tr_y = torch.from_numpy(arr("train_labels.f32", "<f4", 0))
    te_s = torch.from_numpy(arr("test_sparse.u32", "<u4", f).astype(np.int64))
    te_d = torch.from_numpy(arr("test_dense.f32", "<f4", nd))
    te_y = arr("test_labels.f32", "<f4", 0)
    torch.manual_seed(42)
    model = Dlrm(meta["vocab"], nd)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    n, batch = len(tr_y), 1024
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(42))
    model.train()
    t = time.perf_counter()
    for i in range(0, n, batch):
        idx = perm[i : i + batch]
        opt.zero_grad()
        loss = loss_fn(model(tr_s[idx], tr_d[idx]), tr_y[idx])
        loss.backward()
        opt.step()
    epoch = time.perf_counter() - t
    model.eval()
    t = time.perf_counter()
    with torch.no_grad():
        scores = torch.cat([model(te_s[i : i + 65536], te_d[i : i + 65536]) for i in range(0, len(te_y), 65536)])
    score_s = time.perf_counter() - t
    print(json.dumps({
        "threads": threads,
        "epoch_s": epoch,
        "holdout_auc": auc(scores.numpy().astype(np.float64), te_y),
        "params": params,
        "score_rows_per_s": len(te_y) / score_s,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
