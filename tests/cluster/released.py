"""The released pipeline's data preparation and k-means step written literally, for the tests only (no reference
code vendored): token strings numbered as its dataset scripts number them, a frequency cap as its filter
applies it, and its clustering script (KMeans on P[:-1], clusters written as a dict of lists)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def dataset(files):
    """Entries ``(token string, (file, sentence, position))`` of space-split sentence files, in order: each
    token ``word|||count|||sentence|||position`` where count is the word's running count over all files so far
    (from 1) and sentence is offset by the sentences of the files before."""
    entries = []
    counts = {}
    offset = 0
    for index, sentences in enumerate(files):
        for s, sentence in enumerate(sentences):
            for p, word in enumerate(sentence.split(" ")):
                counts[word] = counts.get(word, 0) + 1
                entries.append((word + "|||" + str(counts[word]) + "|||" + str(s + offset) + "|||" + str(p),
                                (index, s, p)))
        offset += len(sentences)
    return entries


def cap(entries, max_freq):
    """The first ``max_freq`` entries of each word, in order (the filter with min 0 and no deletion)."""
    seen = {}
    out = []
    for entry in entries:
        word = entry[0].rsplit("|||", 3)[0]
        if seen.get(word, 0) < max_freq:
            seen[word] = seen.get(word, 0) + 1
            out.append(entry)
    return out


def kmeans_cluster_file(vocab_file, point_file, k, out_path, random_state=212):
    """The clustering script: load the saved tokens and points, fit KMeans on all points but the last, write
    ``token|||cluster`` lines grouped by cluster in first-seen order."""
    from sklearn.cluster import KMeans

    vocab = np.load(vocab_file)
    points = np.load(point_file)
    clustering = KMeans(n_clusters=k, random_state=random_state).fit(points[:-1])
    clusters = defaultdict(list)
    for i, label in enumerate(clustering.labels_):
        clusters[label].append(vocab[i])
    with open(out_path, "w", encoding="utf-8") as target:  # the script under a UTF-8 locale
        for key in clusters.keys():
            for word in clusters[key]:
                target.write(word + "|||" + str(key) + "\n")
