"""The reference algorithm written literally from design.md §5, for the tests only (no reference code vendored)."""

from __future__ import annotations

from collections import defaultdict


def read_clusters(path):
    """cluster name -> set of words; the word is the first ``|||`` field, the cluster the last."""
    clusters = defaultdict(set)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                parts = line.split("|||")
                clusters[parts[-1].strip()].add(parts[0].strip())
    return clusters


def read_dictionary_first_n(path, top_n):
    """word -> its first ``top_n`` translations in file order (probabilities ignored)."""
    table = defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            pair = line.split(": Probability")[0]
            src, tgt = pair.split(" -> ")
            if len(table[src]) < top_n:
                table[src].append(tgt)
    return table


def aligned_clusters(src_clusters, tgt_clusters, translations, theta, min_types, size_ratio):
    """Source cluster names S with some T: m(S,T)/|S| > theta and |S| > min_types and |S|/|T| > size_ratio."""
    aligned = set()
    for s_name, source in src_clusters.items():
        for target in tgt_clusters.values():
            matches = 0
            for word in source:
                for translation in translations.get(word, []):
                    if translation in target:
                        matches += 1
                        break
            if matches / len(source) > theta and len(source) > min_types and len(source) / len(target) > size_ratio:
                aligned.add(s_name)
                break
    return aligned


def overlapping_clusters(labels, langs, languages, theta):
    """Cluster labels where every language's token share is > theta."""
    members = defaultdict(list)
    for label, lang in zip(labels, langs, strict=True):
        members[label].append(int(lang))
    out = set()
    for label, tokens in members.items():
        if all(tokens.count(lang) / len(tokens) > theta for lang in languages):
            out.add(label)
    return out


def reference_alignment_printout(src_path, tgt_path, translations, theta, min_types, size_ratio):
    """The released alignClusters.py's 'Source Cluster S is aligned to Target Clusters: …' lines, written
    literally: clusters keyed by int(name) in first-appearance order, each source's targets a set of ints
    filled in target order, printed in the set's iteration order."""
    def clusters_of(path):
        out = {}
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    parts = line.strip().split("|||")
                    out.setdefault(int(parts[-1].strip()), set()).add(parts[0].strip())
        return out

    source, target = clusters_of(src_path), clusters_of(tgt_path)
    lines = []
    for s_name, s_words in source.items():
        found = set()
        for t_name, t_words in target.items():
            matched = sum(any(t in t_words for t in translations.get(w, [])) for w in s_words)
            if matched / len(s_words) > theta and len(s_words) > min_types and len(s_words) / len(t_words) > size_ratio:
                found.add(t_name)
        if found:
            lines.append(f"Source Cluster {s_name} is aligned to Target Clusters: {', '.join(map(str, found))}")
    return lines
