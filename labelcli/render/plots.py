"""Figures for the review report, rendered with matplotlib (Agg) to PNG bytes, and the gallery of
the images labelcli.io.read_gallery_images read (scaled here for display). Computes nothing beyond
what it draws and reads no files; matplotlib is imported inside the functions (it is the optional
[plot] extra).
"""
from __future__ import annotations

import io

import numpy as np

from labelcli.errors import LabelError

MAX_CLASSES = 30  # heatmaps and class bars show at most this many classes (the noisiest)
DPI = 100
ISSUE_COLOR = "#d62728"
OK_COLOR = "#1f77b4"


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise LabelError("plots need matplotlib: pip install 'labelcli[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def require_matplotlib() -> None:
    """Raise the install hint now when matplotlib is missing."""
    _pyplot()


def _png(fig) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.15,
                    metadata={"Software": None})  # no version stamp: same inputs, same bytes
    finally:
        plt.close(fig)
    return buf.getvalue()


def short_name(name: str, width: int = 18) -> str:
    """Shorten long names in the middle, so names sharing a prefix stay distinct ("categ…er_19")."""
    name = str(name)
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return name[:head] + "…" + name[len(name) - (width - 1 - head):]


def noisiest_classes(noise_mass: np.ndarray, limit: int = MAX_CLASSES) -> np.ndarray:
    """Class indices to show when there are too many: the `limit` largest noise masses, in class
    order (ties: lower index first)."""
    k = len(noise_mass)
    if k <= limit:
        return np.arange(k)
    top = np.argsort(-np.asarray(noise_mass, dtype=np.float64), kind="stable")[:limit]
    return np.sort(top)


def noise_per_class(class_names, noise_rate, issues, examples, *, limit: int = MAX_CLASSES,
                    xlabel: str = "estimated noise: % of the examples given this label that belong to another class",
                    title: str = "Estimated label noise per class", unit: str = "classes") -> bytes:
    """Horizontal bars: estimated share of each class's labels that belong to another class
    (multi-label: each tag's estimated wrong annotations, with its own xlabel / title / unit)."""
    plt = _pyplot()
    rate = np.asarray(noise_rate, dtype=np.float64)
    order = np.argsort(-rate, kind="stable")[:limit]
    k = len(rate)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * len(order)))
    y = np.arange(len(order))
    ax.barh(y, rate[order] * 100, color=ISSUE_COLOR, alpha=0.85)
    ax.set_yticks(y, [short_name(class_names[i]) for i in order])
    ax.invert_yaxis()
    top = max(float(rate[order].max()) * 100, 1.0)
    ax.set_xlim(0, top * 1.3)
    for yi, i in zip(y, order):
        ax.text(rate[i] * 100 + top * 0.01, yi, f"{rate[i]:.1%}  ({int(issues[i])} of {int(examples[i])})",
                va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    shown = "" if len(order) == k else f" (the {len(order)} noisiest of {k} {unit})"
    ax.set_title(f"{title}{shown}", loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def noise_matrix(class_names, joint, num_examples: int, *, limit: int = MAX_CLASSES) -> bytes:
    """Heatmap of the estimated joint in examples: row = given label, column = true label.

    The colour scale covers the off-diagonal cells only (the mistakes); the diagonal is grey.
    """
    plt = _pyplot()
    q = np.asarray(joint, dtype=np.float64) * num_examples
    k = len(q)
    off = q.copy()
    np.fill_diagonal(off, 0.0)
    show = noisiest_classes(off.sum(axis=0) + off.sum(axis=1), limit)
    sub = q[np.ix_(show, show)]
    m = len(show)
    masked = np.ma.masked_array(sub, mask=np.eye(m, dtype=bool))
    side = min(max(4.5, 0.45 * m + 2.0), 15.0)
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    cmap = plt.get_cmap("Reds").with_extremes(bad="#e6e6e6")  # the (masked) diagonal
    vmax = max(float(masked.max()) if masked.count() else 0.0, 1.0)
    im = ax.imshow(masked, cmap=cmap, vmin=0, vmax=vmax)
    names = [short_name(class_names[i], 16) for i in show]
    ax.set_xticks(range(m), names, rotation=60 if m > 6 else 0, ha="right" if m > 6 else "center", fontsize=8)
    ax.set_yticks(range(m), names, fontsize=8)
    ax.set_xlabel("estimated true label")
    ax.set_ylabel("given label")
    if m <= 16:
        for i in range(m):
            for j in range(m):
                v = sub[i, j]
                if i == j or round(v) >= 1:
                    dark = i != j and v > 0.6 * vmax
                    ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                            color="white" if dark else "#333333")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label="estimated examples (off-diagonal)")
    shown = "" if m == k else f"\n(the {m} of {k} classes with the most estimated mislabeling)"
    ax.set_title(f"Estimated joint of given and true labels, in examples{shown}", loc="left", fontsize=11)
    return _png(fig)


def score_histogram(scores, is_issue, *, rank_by: str) -> tuple[bytes, float | None]:
    """Stacked histogram of label quality scores, flagged vs not; marks the highest score among the
    flagged examples (every example scoring below it is at least as suspect). Returns (png, mark)."""
    plt = _pyplot()
    s = np.asarray(scores, dtype=np.float64)
    flagged = np.asarray(is_issue, dtype=bool)
    mark = float(s[flagged].max()) if flagged.any() else None
    lo, hi = min(0.0, float(np.nanmin(s))), max(1.0, float(np.nanmax(s)))
    bins = np.linspace(lo, hi, 41)
    fig, ax = plt.subplots(figsize=(8, 4))
    # Overlaid, not stacked: on a log axis a stacked bar would exaggerate the top group.
    ax.hist(s[~flagged], bins=bins, color=OK_COLOR, alpha=0.75, label=f"not flagged ({int((~flagged).sum()):,})")
    ax.hist(s[flagged], bins=bins, color=ISSUE_COLOR, alpha=0.75,
            label=f"flagged as label issue ({int(flagged.sum()):,})")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5)  # a bin holding one example stays visible
    if mark is not None:
        ax.axvline(mark, color="black", linestyle="--", linewidth=1.2,
                   label=f"least suspect flagged example: score {mark:.3g}")
    ax.set_xlabel(f"label quality score ({rank_by}; lower = more suspect)")
    ax.set_ylabel("examples (log scale)")
    ax.set_title("Label quality scores", loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="upper left", frameon=True, framealpha=1.0)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig), mark


def class_pairs(names_a, names_b, num_overlapping, *, top: int = 15,
                xlabel: str = "estimated examples confused between the two classes (both directions)",
                title: str = "Most overlapping class pairs") -> bytes:
    """Horizontal bars: the class pairs confused most, in estimated examples (both directions;
    multi-label: tag pairs, with their own xlabel / title)."""
    plt = _pyplot()
    cnt = np.asarray(num_overlapping, dtype=np.float64)[:top]
    labels = [f"{short_name(a, 14)} / {short_name(b, 14)}" for a, b in zip(list(names_a)[:top], list(names_b)[:top])]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * max(len(cnt), 1)))
    y = np.arange(len(cnt))
    ax.barh(y, cnt, color="#9467bd", alpha=0.85)
    ax.set_yticks(y, labels, fontsize=9)
    ax.invert_yaxis()
    for yi, v in zip(y, cnt):
        ax.text(v, yi, f" {v:.0f}", va="center", fontsize=8)
    ax.set_xlim(0, max(float(cnt.max()) if len(cnt) else 0.0, 1.0) * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# ------------------------------------------------------------------------------------- images


def display_range(images: list[np.ndarray]) -> tuple[float, float]:
    """(low, high) to stretch the shown images to: their joint min and max (booleans: 0..1), so
    brightness is comparable across thumbnails whatever the dtype or value range."""
    lows, highs = [], []
    for im in images:
        a = np.asarray(im, dtype=np.float64)
        if np.isfinite(a).any():
            lows.append(float(np.nanmin(a[np.isfinite(a)])))
            highs.append(float(np.nanmax(a[np.isfinite(a)])))
    if not lows:
        return 0.0, 1.0
    lo, hi = min(lows), max(highs)
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def to_display(image, lo: float, hi: float) -> np.ndarray:
    """An H x W (grey) or H x W x 3/4 (colour) float image scaled into [0, 1]."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


def gallery(images, captions, *, title: str, ncols: int = 8, group: int = 0) -> bytes:
    """A grid of thumbnails (already scaled to [0, 1]), each with its caption above it. group: an
    extra gap after every `group` columns (image_pairs: pairs side by side)."""
    plt = _pyplot()
    n = len(images)
    if n == 0:
        raise LabelError("no images to show in the gallery")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    lines = max(str(c).count("\n") + 1 for c in captions)
    # Fixed layout in inches (tight_layout lets multi-line titles run into the row above).
    img, cap, gap, pad, head = 1.4, 0.15 * lines + 0.08, 0.1, 0.1, 0.45
    cell_w = img + pad
    sep = 0.35 if group else 0.0
    groups = (ncols - 1) // group if group else 0
    width, height = ncols * cell_w + pad + groups * sep, head + nrows * (cap + img + gap)
    fig = plt.figure(figsize=(width, height))
    fig.text(pad / width, 1 - 0.12 / height, title, fontsize=11, ha="left", va="top")
    for j in range(n):
        r, c = divmod(j, ncols)
        top = height - head - r * (cap + img + gap) - cap
        left = pad + c * cell_w + (c // group if group else 0) * sep
        ax = fig.add_axes((left / width, (top - img) / height, img / width, img / height))
        ax.set_xticks([])
        ax.set_yticks([])
        im = images[j]
        if im.ndim == 2:
            ax.imshow(im, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.imshow(im, interpolation="nearest")
        ax.set_title(captions[j], fontsize=8, pad=3, linespacing=1.15)
        for sp in ax.spines.values():
            sp.set_color(ISSUE_COLOR)
    buf = io.BytesIO()
    try:  # no bbox_inches="tight": the layout above is already exact
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()


def for_display(gallery) -> list[np.ndarray]:
    """The images of a labelcli.io.GalleryImages scaled into [0, 1]: image files are already;
    .npy images are stretched to their joint range (see display_range)."""
    if gallery.unit_range:
        return list(gallery.images)
    lo, hi = display_range(gallery.images)
    return [to_display(im, lo, hi) for im in gallery.images]


def pr_curve(scores, truth, *, ap: float) -> bytes:
    """Precision-recall curve of a ranking (most suspect first) against the true errors."""
    from labelcli.ml.ranking_metrics import pr_curve as curve

    plt = _pyplot()
    precision, recall = curve(scores, truth)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(recall, precision, color=OK_COLOR)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Precision-recall of the ranking (AP {ap:.3f})")
    ax.grid(alpha=0.3)
    return _png(fig)


def metric_per_round(rounds, metrics: dict) -> bytes:
    """Lines of each metric (name -> values, NaN = not measured) per cleaning round."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in metrics.items():
        ax.plot(rounds, values, marker="o", label=name)
    ax.set_xlabel("round")
    ax.set_ylabel("score")
    ax.set_xticks(list(rounds))
    ax.set_title("Metric per cleaning round")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def image_pairs(images, captions, *, title: str, pairs_per_row: int = 4) -> bytes:
    """Pairs of thumbnails side by side (images and captions: a0, b0, a1, b1, ...), a gap between pairs."""
    if len(images) % 2:
        raise ValueError("image_pairs takes two images per pair")
    return gallery(images, captions, title=title, ncols=2 * min(pairs_per_row, len(images) // 2), group=2)
