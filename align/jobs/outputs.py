"""What an alignment job writes: the mapping, the mapped vectors, the induced dictionary and metrics.json,
as one output folder built aside and swapped in whole (align._io.folder_swap)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._io import folder_swap, writing
from ..search.induction import REFINE_VOCAB, Induced, induce
from ..space.mapping import Mapping
from ..store.vectors import Embeddings


RERANK_DIR = "rerank"  # a reranker saved with the mapping (align.rerank)


def check_mapped(space: Embeddings, what: str) -> Embeddings:
    """`space` itself, or an AlignError when the map sent its vectors to NaN/infinity or all to zero (a
    degenerate map, e.g. from extreme parameters): such vectors must never be written as a result."""
    from ..errors import AlignError
    from ..store.matrix import all_finite

    if not all_finite(space.vectors):
        raise AlignError(f"the mapping sends the {what} vectors to NaN or infinite values (a degenerate map)")
    if len(space) and not np.any(space.vectors):
        raise AlignError(f"the mapping sends every {what} vector to zero (a degenerate map)")
    return space


def mapped_spaces(mapping: Mapping, src: Embeddings, tgt: Embeddings) -> tuple[Embeddings, Embeddings]:
    """Both sides in the shared space: the mapped source, and the normalised (with W_tgt, mapped) target;
    an AlignError when either is degenerate (`check_mapped`)."""
    return (check_mapped(mapping.transform_embeddings(src), "source"),
            check_mapped(mapping.normalize_target(tgt), "target"))


def mapped_texts(mapping: Mapping, spaces: tuple[Embeddings, Embeddings]) -> tuple[bytes, bytes | None]:
    """The .vec text of the mapped source, and of the mapped target when the mapping moves the target side
    (None otherwise): the costly part of `write_outputs`, which a caller may run in a thread beside the
    evaluation (numpy's formatting releases the GIL)."""
    s, t = spaces
    return s.to_text(), (t.to_text() if mapping.W_tgt is not None else None)


def write_outputs(output: str | Path, mapping: Mapping, src: Embeddings, tgt: Embeddings, metrics: dict,
                  induced: Induced | None = None, refine_vocab: int = REFINE_VOCAB, *,
                  spaces: tuple[Embeddings, Embeddings] | None = None,
                  texts: tuple[bytes, bytes | None] | None = None, reranker=None) -> dict:
    """Write the output folder `output`: the mapping, `<src>.mapped.vec` (and `<tgt>.mapped.vec` when the
    mapping moves the target side), `induced.txt` (src tgt CSLS-score, best first; induced here when the
    aligner induced none) and metrics.json. `spaces`, `texts`: what `mapped_spaces` and `mapped_texts`
    return, if already made; `reranker`: a fitted align.rerank.Reranker, written into `rerank/`. Returns the
    paths written (as they are once the folder is in place)."""
    out = Path(output)
    mapped, mapped_tgt = mapped_spaces(mapping, src, tgt) if spaces is None else spaces
    src_text, tgt_text = mapped_texts(mapping, (mapped, mapped_tgt)) if texts is None else texts
    if induced is None:
        induced = induce(mapped.vectors, mapped_tgt.vectors, max_rank=refine_vocab)
    src_name = f"{mapping.info.get('src_lang', 'src')}.mapped.vec"
    paths = {"mapping": str(out), "mapped_vectors": str(out / src_name)}
    if tgt_text is not None:
        paths["mapped_target_vectors"] = str(out / f"{mapping.info.get('tgt_lang', 'tgt')}.mapped.vec")
    paths.update(induced_dictionary=str(out / "induced.txt"), metrics=str(out / "metrics.json"))
    if reranker is not None:
        paths["reranker"] = str(out / RERANK_DIR)
    with folder_swap(out) as tmp:
        mapping.write_files(tmp)
        with writing(tmp / src_name):
            (tmp / src_name).write_bytes(src_text)
        if tgt_text is not None:
            tgt_file = tmp / Path(paths["mapped_target_vectors"]).name
            with writing(tgt_file):
                tgt_file.write_bytes(tgt_text)
        order = np.argsort(-np.asarray(induced.scores))
        with writing(tmp / "induced.txt"), open(tmp / "induced.txt", "w", encoding="utf-8") as f:
            for i in order:
                a, b = induced.pairs[i]
                f.write(f"{src.words[int(a)]} {tgt.words[int(b)]} {float(induced.scores[i]):.6f}\n")
        if reranker is not None:
            (tmp / RERANK_DIR).mkdir()
            reranker.write_files(tmp / RERANK_DIR)
        # last: its presence marks a whole folder
        with writing(tmp / "metrics.json"), open(tmp / "metrics.json", "w", encoding="utf-8") as f:
            json.dump({**metrics, "outputs": paths}, f, indent=1, ensure_ascii=False)
    return paths
