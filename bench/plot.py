#!/usr/bin/env python
"""Draw the documentation's performance figure from a bench/ci.py results file.

    python bench/plot.py bench-results.json performance.png

Two panels: the side-by-side cases (zmqx's speedup over pyzmq, measured alternating in one
run; >1 = zmqx faster), and the microbenchmarks that exist for both (median time per
operation). docs/conf.py calls draw() at every docs build, on docs/_data/bench-results.json.
"""
import json
import sys


def draw(results_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(results_path) as f:
        res = json.load(f)
    sbs = [(name, row.get("paired_speedup") or row.get("speedup"))
           for name, row in res.get("sidebyside", {}).items()]
    sbs = [(n, v) for n, v in sbs if v]
    micro = res.get("micro", {})
    pairs = []
    for name, row in micro.items():
        if name.endswith("[zmqx]"):
            other = micro.get(name[: -len("[zmqx]")] + "[pyzmq]")
            if other:
                pairs.append(((row["group"] or name)[:48], row["median_ns"], other["median_ns"]))

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 8.5), gridspec_kw={"height_ratios": [3, 2]})
    names = [n for n, _ in sbs][::-1]
    values = [v for _, v in sbs][::-1]
    ax1.barh(names, values, color=["#2a7ab0" if v >= 1 else "#c0392b" for v in values])
    ax1.axvline(1.0, color="black", linewidth=0.8)
    ax1.set_xscale("log")
    ax1.set_xlabel("zmqx speedup over pyzmq (×, log scale; >1 = zmqx faster)")
    ax1.set_title("bench/sidebyside.py --quick (paired medians)", fontsize=10)
    for y, v in enumerate(values):
        ax1.text(v, y, f" {v:.2f}×", va="center", fontsize=8)
    ax1.tick_params(axis="y", labelsize=8)

    labels = [p[0] for p in pairs]
    ys = range(len(pairs))
    ax2.barh([y + 0.2 for y in ys], [p[1] / 1000 for p in pairs], height=0.4, label="zmqx",
             color="#2a7ab0")
    ax2.barh([y - 0.2 for y in ys], [p[2] / 1000 for p in pairs], height=0.4, label="pyzmq",
             color="#999999")
    ax2.set_yticks(list(ys), labels, fontsize=8)
    ax2.set_xscale("log")
    ax2.set_xlabel("median time per operation (µs, log scale; lower is better)")
    ax2.set_title("pytest-benchmark microbenchmarks (bench/test_micro.py, test_hotpaths.py)",
                  fontsize=10)
    ax2.legend(fontsize=8)

    m = res.get("machine", {})
    fig.suptitle(f"zmqx vs pyzmq — {res.get('created', '?')[:10]}, Python {m.get('python', '?')}, "
                 f"{m.get('machine', '?')}, {m.get('cpus', '?')} CPUs", fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    draw(sys.argv[1], sys.argv[2])
