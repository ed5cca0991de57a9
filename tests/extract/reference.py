"""A literal, one-sentence-at-a-time reference for word vectors (the definition, no batching tricks)."""

from __future__ import annotations

import numpy as np
import torch


def reference_vectors(folder, sentences, layers, aggregation, side="encoder", sources=None):
    """{(sentence, position): [n_layers, hidden] float32} computed sentence by sentence.

    Encoder side: AutoModel with output_hidden_states. Decoder side: the seq2seq LM with ``labels=``
    (its own shift-right), decoder_hidden_states.
    """
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = (AutoModelForSeq2SeqLM if side == "decoder" else AutoModel).from_pretrained(folder).eval()
    out = {}
    for s, words in enumerate(sentences):
        enc = tokenizer(words, is_split_into_words=True, return_tensors="pt")
        word_ids = enc.word_ids(0)
        with torch.no_grad():
            if side == "decoder":
                src = tokenizer(sources[s], is_split_into_words=True, return_tensors="pt")
                res = model(input_ids=src["input_ids"], labels=enc["input_ids"], output_hidden_states=True)
                states = res.decoder_hidden_states
            elif getattr(model.config, "is_encoder_decoder", False):
                states = model.get_encoder()(**enc, output_hidden_states=True).hidden_states
            else:
                states = model(**enc, output_hidden_states=True).hidden_states
        for p in range(len(words)):
            idx = [t for t, w in enumerate(word_ids) if w == p]
            if not idx:
                continue
            vecs = []
            for layer in layers:
                h = states[layer][0, idx].float().numpy()
                vecs.append({"first": h[0], "last": h[-1], "mean": h.mean(0)}[aggregation])
            out[(s, p)] = np.stack(vecs)
    return out
