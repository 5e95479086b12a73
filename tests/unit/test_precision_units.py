"""Embedding precision from CPU flags, and which engine a collection's vector space gets (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rag_service.embedders as embedders
from rag_service.embedders import EmbedderPool, IncompatibleVectorsError
from rag_service.embedders.minilm_int8 import BLOCK, quantise_blocks
from rag_service.embedders.precision import choose_precision, parse_cpuinfo
from rag_service.settings import Settings

# Issue #12's EPYC, a VNNI-only Cascade Lake, this project's 2-core AVX2 machine, a Sapphire Rapids Xeon, and one
# whose VM hides AMX (avx512_bf16 without it: bf16 measured slower than fp32 there).
EPYC_ZEN4 = {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16"}
CASCADE_LAKE = {"avx2", "fma", "avx512f", "avx512_vnni"}
AVX2_ONLY = {"avx2", "fma", "f16c"}
SAPPHIRE_RAPIDS = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile"}
XEON_NO_AMX = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16"}
AMD, INTEL = "AMD EPYC 9R14 Processor", "Intel(R) Xeon(R) Processor"
FP32_SPACE, INT8_SPACE = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2+int8b16"
RETIRED_INT8_SPACE = "all-MiniLM-L6-v2+int8"  # the first int8 recipe's: its vectors differed by CPU class


@pytest.mark.parametrize(
    ("flags", "model", "expected"),
    [
        (EPYC_ZEN4, AMD, "bf16"),
        (SAPPHIRE_RAPIDS, INTEL, "bf16"),
        ({"amx_bf16"}, "", "bf16"),
        (XEON_NO_AMX, INTEL, "int8"),
        ({"avx512_bf16"}, INTEL, "fp32"),
        (CASCADE_LAKE, INTEL, "int8"),
        ({"avx2", "avx_vnni"}, "", "int8"),
        (AVX2_ONLY, AMD, "fp32"),
        (set(), "", "fp32"),
    ],
)
def test_auto_follows_the_flags(flags: set[str], model: str, expected: str) -> None:
    choice = choose_precision("auto", flags, model)
    assert choice.precision == expected and choice.native
    assert choice.requested == "auto"
    assert set(choice.flags) <= flags
    assert choice.reason


def test_forced_precision_is_used_and_says_whether_it_is_native() -> None:
    assert choose_precision("int8", AVX2_ONLY).precision == "int8"
    assert not choose_precision("int8", AVX2_ONLY).native
    assert not choose_precision("bf16", CASCADE_LAKE).native
    assert choose_precision("bf16", EPYC_ZEN4).native
    assert choose_precision("fp32", set()).native
    assert "emulated" in choose_precision("bf16", AVX2_ONLY).describe()
    with pytest.raises(ValueError, match="unknown embedding precision"):
        choose_precision("fp16", SAPPHIRE_RAPIDS)


def test_parse_cpuinfo_reads_the_first_processor() -> None:
    text = (
        "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu avx2 avx512_bf16\n\n"
        "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n"
    )
    assert parse_cpuinfo(text) == ("AMD EPYC 9R14", frozenset({"fpu", "avx2", "avx512_bf16"}))
    assert parse_cpuinfo("") == ("", frozenset())


def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str, flags: set[str]) -> EmbedderPool:
    monkeypatch.setattr(embedders, "cpu", lambda: (AMD, frozenset(flags)))
    settings = Settings(_env_file=None, data_dir=tmp_path, embed_precision=precision)  # type: ignore[call-arg]
    return EmbedderPool(settings)


def test_bf16_and_fp32_share_a_vector_space_int8_has_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pool(tmp_path, monkeypatch, "auto", EPYC_ZEN4).get("minilm").engine == "torch-bf16"
    assert pool(tmp_path, monkeypatch, "auto", EPYC_ZEN4).space_for("minilm") == FP32_SPACE
    assert pool(tmp_path, monkeypatch, "auto", AVX2_ONLY).space_for("minilm") == FP32_SPACE
    assert pool(tmp_path, monkeypatch, "auto", CASCADE_LAKE).space_for("minilm") == INT8_SPACE
    assert pool(tmp_path, monkeypatch, "int8", AVX2_ONLY).get("minilm").engine == "onnxruntime-int8"


def test_a_collection_keeps_its_vector_space_whatever_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fp32 collection, bf16 chosen: same space, so bf16 embeds its queries.
    assert pool(tmp_path, monkeypatch, "auto", EPYC_ZEN4).for_collection("minilm", FP32_SPACE).engine == "torch-bf16"
    # fp32 collection, int8 chosen or forced: the best engine of the fp32 space, never int8.
    assert pool(tmp_path, monkeypatch, "auto", CASCADE_LAKE).for_collection("minilm", FP32_SPACE).engine == "torch-fp32"
    assert pool(tmp_path, monkeypatch, "int8", EPYC_ZEN4).for_collection("minilm", FP32_SPACE).engine == "torch-bf16"
    # int8 collection on a machine that would choose bf16 or fp32: its own int8 engine.
    for precision, flags in (("auto", EPYC_ZEN4), ("fp32", AVX2_ONLY), ("bf16", SAPPHIRE_RAPIDS)):
        engine = pool(tmp_path, monkeypatch, precision, flags).for_collection("minilm", INT8_SPACE)
        assert (engine.engine, engine.model_id) == ("onnxruntime-int8", INT8_SPACE)
    # A collection from before vector spaces were recorded: the chosen engine.
    assert pool(tmp_path, monkeypatch, "fp32", EPYC_ZEN4).for_collection("minilm", None).engine == "torch-fp32"
    with pytest.raises(IncompatibleVectorsError, match="no 'minilm' engine"):
        pool(tmp_path, monkeypatch, "auto", EPYC_ZEN4).for_collection("minilm", "all-MiniLM-L6-v2+fp8")


def test_a_collection_of_the_retired_int8_space_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wherever it is opened, even on the VNNI CPU class that may have made it: no engine makes those vectors now.
    for precision, flags in (("auto", CASCADE_LAKE), ("int8", AVX2_ONLY), ("auto", EPYC_ZEN4)):
        with pytest.raises(IncompatibleVectorsError, match=r"differed from one CPU class to another.*re-ingest"):
            pool(tmp_path, monkeypatch, precision, flags).for_collection("minilm", RETIRED_INT8_SPACE)


def test_int8_weights_are_blocks_of_symmetric_bytes_around_128() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(2 * BLOCK, 3)).astype(np.float32)  # (inputs, outputs)
    matrix[:BLOCK, 1] = 0.0  # an all-zero block must not divide by zero
    data, scales = quantise_blocks(matrix)
    assert data.dtype == np.uint8 and data.shape == (3, 2, BLOCK)
    assert scales.dtype == np.float32 and scales.shape == (6,)
    assert data.min() >= 1 and data.max() <= 255  # q + 128 with q in [-127, 127]: symmetric, zero point 128
    restored = ((data.astype(np.float32) - 128) * scales.reshape(3, 2, 1)).reshape(3, 2 * BLOCK).T
    assert np.abs(restored - matrix).max() <= scales.max() / 2 + 1e-6
    assert np.all(restored[:BLOCK, 1] == 0.0)
    with pytest.raises(ValueError, match="not a multiple"):
        quantise_blocks(np.ones((BLOCK + 1, 2), dtype=np.float32))


def test_multilingual_has_fp32_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for precision in ("auto", "bf16", "int8"):
        engine = pool(tmp_path, monkeypatch, precision, SAPPHIRE_RAPIDS).get("multilingual")
        assert (engine.engine, engine.model_id) == ("numpy-fp32", "use-multilingual-v3")
