#!/usr/bin/env python3
"""Generates the benchmark dataset: time-series CSV (timestamp, device,
metric, value) and a file tree of mixed sizes, about SIZE_MIB in all.

    gen_dataset.py DIR SIZE_MIB          create
    gen_dataset.py DIR SIZE_MIB --change  change about 1% (append rows, rewrite a few files)
"""
import os
import random
import sys


def write_csv(path, rows, start, rng):
    metrics = ("temperature", "humidity", "pressure", "voltage")
    with open(path, "a", encoding="ascii") as out:
        batch = []
        for i in range(start, start + rows):
            batch.append(f"{1_700_000_000_000 + i * 250},dev-{rng.randrange(2000):04d},{metrics[i % 4]},{rng.random() * 100:.4f}\n")
            if len(batch) == 20_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))


def tree_file(path, size, rng):
    # Half random (incompressible), half repetitive: like real data directories.
    half = size // 2
    with open(path, "wb") as out:
        out.write(rng.randbytes(half))
        out.write((b"tsfile-page-" * (size // 12 + 1))[: size - half])


def main():
    root, size_mib = sys.argv[1], int(sys.argv[2])
    change = "--change" in sys.argv
    rng = random.Random(1 if not change else 2)
    csv_bytes = size_mib * 1024 * 1024 * 7 // 10
    rows = csv_bytes // 45  # about 45 bytes a row
    os.makedirs(os.path.join(root, "series"), exist_ok=True)
    os.makedirs(os.path.join(root, "tree"), exist_ok=True)
    files = 8
    if change:
        # 1%: new rows at the end of one series file, and a few tree files rewritten.
        write_csv(os.path.join(root, "series", "part-0.csv"), rows // 100 // 2, rows, rng)
        names = sorted(os.path.join(d, f) for d in os.listdir(os.path.join(root, "tree")) for f in os.listdir(os.path.join(root, "tree", d)))
        budget = size_mib * 1024 * 1024 // 200
        for name in names[::97]:
            path = os.path.join(root, "tree", name)
            size = os.path.getsize(path)
            if budget <= 0:
                break
            tree_file(path, size, rng)
            budget -= size
        return
    for f in range(files):
        write_csv(os.path.join(root, "series", f"part-{f}.csv"), rows // files, f * rows // files, rng)
    tree_bytes = size_mib * 1024 * 1024 - csv_bytes
    written, n = 0, 0
    while written < tree_bytes:
        size = rng.choice((4 << 10, 64 << 10, 512 << 10, 4 << 20))
        sub = os.path.join(root, "tree", f"d{n % 16:02d}")
        os.makedirs(sub, exist_ok=True)
        tree_file(os.path.join(sub, f"f{n:05d}.bin"), size, rng)
        written += size
        n += 1


if __name__ == "__main__":
    main()
