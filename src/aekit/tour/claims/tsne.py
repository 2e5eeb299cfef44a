"""Claim 10: t-SNE of an autoencoder's 10-dimensional codes separates the digits better than t-SNE of
10 PCA components (t-SNE: van der Maaten & Hinton, JMLR 2008; the comparison as in Hinton &
Salakhutdinov, Science 2006, Fig. 3, which set a 2-D code against 2 principal components).

Both codes have ten numbers per image and are fitted on the same training images without labels;
t-SNE then maps the test codes to the plane. Whether the digits separate is measured with the labels
the models never saw: the leave-one-out 1-nearest-neighbour accuracy, in the codes and in the maps;
trustworthiness (Venna & Kaski, 2001) says whether the map's neighbours were neighbours in pixel space.
"""

from __future__ import annotations

import numpy as np

from aekit.analysis.embedding import one_nn_accuracy, pca_codes, trustworthiness, tsne
from aekit.models.batched import map_batches
from aekit.registry import register
from aekit.tour.bench import entry, split_of, split_protocol, train_config
from aekit.tour.claim import Check, Claim, Evidence, Setting, decide, mean, mean_sd
from aekit.viz.embedding import maps_figure

CODE_SIZE = 10
MAX_POINTS = 1000  # test images in the maps and scores (a subsample seeded with 0 beyond that)
SUBSAMPLE_SEED = 0  # which test images, when there are more than MAX_POINTS
TRUST_MARGIN = 0.005  # "at least as trustworthy": not below PCA's map by more than this
EFFECTS = {"1nn": 1.0, "trust": 0.005}  # effects of interest: a point of 1-NN accuracy; the trust margin
KINDS = (("ae", f"autoencoder codes ({CODE_SIZE}-D)"), ("pca", f"PCA codes ({CODE_SIZE} components)"))


def scored_rows(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of the test images used: all of them, or a sorted subsample seeded with ``SUBSAMPLE_SEED``."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(SUBSAMPLE_SEED).choice(n, max_points, replace=False))


def neighbourhoods(x: np.ndarray, h: np.ndarray, y: np.ndarray, seed: int) -> dict[str, object]:
    """1-NN accuracy and trustworthiness (to pixel space) of codes ``h`` and of their t-SNE map; ``*_out``:
    the 1-NN accuracy with each test image left out."""
    points = tsne(h, random_state=seed, n_jobs=1)  # (n, 2)
    return {"code_1nn": one_nn_accuracy(h, y), "code_trust": trustworthiness(x, h),
            "map_1nn": one_nn_accuracy(points, y), "map_trust": trustworthiness(x, points), "points": points,
            "code_1nn_out": one_nn_without_each(h, y), "map_1nn_out": one_nn_without_each(points, y)}


def one_nn_without_each(h: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out 1-NN accuracy of ``y`` in ``h`` (n, k) with image i removed from the set, for each i:
    (n,). Removing i drops its own hit and sends every image whose nearest neighbour was i to its second."""
    from sklearn.metrics import pairwise_distances

    n = len(h)
    distances = pairwise_distances(h)  # (n, n), as one_nn_accuracy computes them
    np.fill_diagonal(distances, np.inf)
    first = distances.argmin(axis=1)  # (n,): the neighbour one_nn_accuracy uses
    distances[np.arange(n), first] = np.inf
    second = distances.argmin(axis=1)  # (n,): the neighbour once the first is gone
    hit = (y[first] == y).astype(np.float64)  # (n,)
    moved = np.bincount(first, weights=(y[second] == y) - hit, minlength=n)  # (n,): change when i is removed
    return (hit.sum() - hit + moved) / (n - 1)


@register("claim", "tsne")
class TSNEOfCodes(Claim):
    title = "t-SNE of autoencoder codes separates the digits better than t-SNE of PCA"
    order = 100

    def run(self, setting: Setting) -> Evidence:
        found: dict[str, list[dict]] = {kind: [] for kind, _ in KINDS}
        epochs, pixels = [], []
        for seed in setting.seeds:
            data = split_of(setting, seed)
            rows_used = scored_rows(len(data.x_test))
            x, y = data.x_test[rows_used], data.y_test[rows_used]  # (n, 784), (n,)
            z = pca_codes(data.x_train, x, CODE_SIZE, random_state=0)  # (n, 10); PCA fitted on the training split
            pixels.append(one_nn_accuracy(x, y))
            overrides = [f"model.code_size={CODE_SIZE}", *(["train.max_epochs=15"] if setting.quick else [])]
            result = train_config(setting, f"tsne-ae-seed{seed}", overrides, seed=seed)
            epochs.append(result.best_epoch)
            h = map_batches(result.model.encode, x, result.model)  # (n, 10), eval mode
            for kind, codes in (("ae", h), ("pca", z)):
                found[kind].append(neighbourhoods(x, codes, y, seed))
            setting.log(f"tsne: seed {seed}: map 1-NN {found['ae'][-1]['map_1nn']:.3f} (autoencoder) vs "
                        f"{found['pca'][-1]['map_1nn']:.3f} (PCA)")

        def column(kind: str, name: str) -> list[float]:
            return [float(s[name]) for s in found[kind]]

        names = ("code_1nn", "code_trust", "map_1nn", "map_trust")
        rows, numbers = [], {}
        for kind, label in KINDS:
            rows.append([label, *(mean_sd(column(kind, name), "{:.3f}") for name in names)])
            numbers |= {f"{kind}_{name}": mean(column(kind, name)) for name in names}
        rows.append(["raw pixels (784-D), for reference", mean_sd(pixels, "{:.3f}"), "1 (by definition)", "—", "—"])
        numbers |= {"pixels_1nn": mean(pixels), "best_epoch": mean(epochs)}
        ae, pca = found["ae"], found["pca"]

        def nn_check(name: str, where: str) -> Check:
            out = [100 * (a[f"{where}_1nn_out"] - b[f"{where}_1nn_out"]) for a, b in zip(ae, pca)]  # (n,) per seed
            return Check(name, [100 * (a[f"{where}_1nn"] - b[f"{where}_1nn"]) for a, b in zip(ae, pca)],
                         EFFECTS["1nn"], " pts", "{:.2f}", [(float(o.min()), float(o.max())) for o in out])

        checks = [nn_check("(1) 1-NN accuracy in the map: autoencoder − PCA (points)", "map"),
                  nn_check("(2) 1-NN accuracy in the codes: autoencoder − PCA (points)", "code"),
                  Check(f"(3) map trustworthiness: autoencoder − PCA + {TRUST_MARGIN:g}",
                        [a["map_trust"] - b["map_trust"] + TRUST_MARGIN for a, b in zip(ae, pca)], EFFECTS["trust"],
                        fmt="{:.4f}")]

        per_seed = "; ".join(
            f"seed {seed}: map 1-NN {a['map_1nn']:.3f} vs {b['map_1nn']:.3f}, code 1-NN {a['code_1nn']:.3f} vs "
            f"{b['code_1nn']:.3f}, map trustworthiness {a['map_trust']:.4f} vs {b['map_trust']:.4f}"
            for seed, a, b in zip(setting.seeds, ae, pca))
        last = {kind: found[kind][-1] for kind, _ in KINDS}
        n, n_total = len(rows_used), len(data.x_test)
        which = f"all {n} test images" if n == n_total else f"{n} of the {n_total} test images (seeded subsample)"
        figure = entry("maps", "The two t-SNE maps",
                       f"t-SNE maps (openTSNE, perplexity 30, seed {setting.seeds[-1]}) of {which}: left, the "
                       f"{CODE_SIZE}-D codes of the autoencoder of seed {setting.seeds[-1]}; right, the first "
                       f"{CODE_SIZE} principal components. Each dot is a test image, coloured by its digit, which "
                       f"neither the autoencoder, PCA nor t-SNE saw. Islands of one colour mean the digits separate; "
                       f"the sizes of the islands and the distances between them mean little in a t-SNE map, so "
                       f"the table scores which points are neighbours, not where the islands are.",
                       maps_figure({f"t-SNE of {title}\n1-NN accuracy in the map {last[kind]['map_1nn']:.3f}":
                                    last[kind]["points"] for kind, title in KINDS}, y, legend="digit"))
        n_train = f"{len(data.x_train):,}"
        return Evidence(
            statement=f"t-SNE of an autoencoder's {CODE_SIZE}-dimensional codes separates the digits better than "
                      f"t-SNE of {CODE_SIZE} PCA components: test images keep neighbours of their own class more "
                      f"often, in the codes and in the map.",
            protocol=f"{split_protocol(setting)}. The autoencoder: aekit's defaults with "
                     f"model.code_size={CODE_SIZE} (MLP 784-512-{CODE_SIZE}, cross-entropy, Adam; epochs: auto, "
                     f"{'at most 15 (quick), ' if setting.quick else ''}stopping when the validation loss converges "
                     f"and keeping the best validation epoch — the only selection, on the validation split, without "
                     f"labels), trained on {n_train} training images; PCA with {CODE_SIZE} components fitted on the "
                     f"same training images. Scored on {which}: leave-one-out 1-NN accuracy with the true labels "
                     f"(which nothing was trained or tuned on) and trustworthiness (5 neighbours, against pixel "
                     f"space), for the codes and for their 2-D t-SNE maps (openTSNE, perplexity 30, its defaults). "
                     f"Seeds {list(setting.seeds)}: the split (so the test images and PCA too), the autoencoder's "
                     f"initialisation and batch order, and the t-SNE seed.",
            header=["codes", "1-NN accuracy, codes", "trustworthiness, codes", "1-NN accuracy, t-SNE map",
                    "trustworthiness, t-SNE map"],
            rows=rows,
            rule=f"(1) the 1-NN accuracy in the t-SNE map of the autoencoder's codes is higher than in the t-SNE map "
                 f"of the PCA codes, (2) the same holds in the codes themselves (the separation is the code's, not "
                 f"t-SNE's), and (3) the autoencoder's map is at least as trustworthy as PCA's, within "
                 f"{TRUST_MARGIN:g} (it does not buy separation with neighbours that were far apart in pixel "
                 f"space); 1-NN accuracies also without each test image in turn (exactly: the images whose "
                 f"nearest neighbour it was move to their second).",
            decision=decide(checks, setting.seeds), numbers=numbers, figures=[figure], scale=data.scale,
            notes=[f"Per seed, autoencoder vs PCA: {per_seed}.",
                   "A t-SNE map is for looking at: its cluster sizes and the gaps between clusters are not "
                   "measurements, which is why the scores are neighbourhood scores.",
                   "1-NN accuracy uses the labels only to score: a code that separates the digits well under this "
                   "score was never told what a digit is. It is not a classifier trained with labels.",
                   f"Raw pixels keep their own neighbourhoods perfectly and reach the 1-NN accuracy in the last row; "
                   f"a {CODE_SIZE}-number code keeps much less information, so it need not reach that row."])


__all__ = ["TSNEOfCodes", "neighbourhoods", "scored_rows", "CODE_SIZE", "MAX_POINTS"]
