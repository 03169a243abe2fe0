"""The encoder bridge: a broken cache is encoded again with a warning, and --quiet silences transformers' bars."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")

from align.bridge import encode_words_meta  # noqa: E402
from align.bridge.extract import load_encoder  # noqa: E402

from test_bridge import EN  # noqa: E402  (tiny_model: the fixture in conftest)


@pytest.mark.parametrize("damage", ["empty", "nan", "words"])
def test_a_broken_encoder_cache_is_encoded_again_with_a_warning(tiny_model, tmp_path, damage):
    first, meta = encode_words_meta(EN, model=str(tiny_model), layers="0-2", cache_dir=tmp_path)
    cache = meta["cache_path"]
    if damage == "empty":
        (tmp_path / cache / "vectors.npy").write_bytes(b"")
    elif damage == "nan":
        np.save(tmp_path / cache / "vectors.npy", np.full(first.vectors.shape, np.nan, dtype=np.float32))
    else:
        (tmp_path / cache / "words.txt").write_text("other\n")
    again, meta2 = encode_words_meta(EN, model=str(tiny_model), layers="0-2", cache_dir=tmp_path)
    assert not meta2["from_cache"]
    assert any("unusable" in w for w in meta2["warnings"]) and again.report.warnings == meta2["warnings"]
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)
    third, meta3 = encode_words_meta(EN, model=str(tiny_model), layers="0-2", cache_dir=tmp_path)
    assert meta3["from_cache"] and "warnings" not in meta3


def test_quiet_hides_the_loading_weights_bar(tiny_model, capfd):
    load_encoder(str(tiny_model), show_progress=False)
    assert "Loading weights" not in capfd.readouterr().err
    load_encoder(str(tiny_model), show_progress=True)
    assert "Loading weights" in capfd.readouterr().err
    load_encoder(str(tiny_model))  # the library default is quiet, and the earlier call left no setting behind
    assert "Loading weights" not in capfd.readouterr().err
