"""Which embedding precision this CPU should use, from the flags /proc/cpuinfo reports.

The rule (`choose_precision`, a pure function of the flags and the CPU's model name, so it is testable anywhere)
picks the fastest engine measured faithful to fp32 on that CPU class: minimum cosine to fp32 at least 0.99 over
real chunks (git-doc), eval hit@5 and evidence@5 within 0.01 of fp32.

- bf16 where the CPU has AMX (`amx_bf16`), or `avx512_bf16` on an AMD CPU. Measured on a 2-core Xeon with AMX:
  1.9x the fp32 ingest chunks/s with vectors within cosine 0.99997 of fp32 (docs/architecture.md); issue #12 measured
  2.3x on an AMD EPYC with avx512_bf16 and no AMX. An Intel Xeon reporting `avx512_bf16` without AMX (a VM that
  hides AMX) measured the other way: bf16 28, fp32 45, int8 68 chunks/s (issue #9's notes; the first int8 recipe,
  and today's measured 0.9x its speed on an EPYC), so there `avx512_bf16` alone does not choose bf16. Without any
  bf16 instructions torch emulates bf16, slower than fp32, so auto never chooses it there.
- int8 (ONNX Runtime) where the CPU has VNNI (`avx512_vnni` or `avx_vnni`) and bf16 is not chosen. Faithful on
  every x86 class since issue #25 (minilm_int8.py: per-block weights and per-row, per-block activations, kernels
  that do not saturate): minimum cosine to fp32 0.9996 over 256 git-doc chunks on an AMD EPYC's VNNI, and 0.9996
  over 32 of them on AVX2 alone (QEMU's Haswell model). The first int8 recipe measured 0.981 on that EPYC and
  0.973 on an AVX2-only one, and was chosen on VNNI CPUs all the same; it is retired. Speed, one core each, 256
  git-doc chunks, same process, alternating (benchmarks/results/int8-variants-20261207.md): int8 1.6x torch fp32
  and 1.2x ONNX Runtime fp32 with VNNI, so VNNI without bf16 chooses int8. Where bf16 is chosen it measured as
  fast or faster (that EPYC, one core: bf16 30, int8 29-30 chunks/s; the AMX Xeon: bf16 114, first-recipe int8
  77 ingest chunks/s, and today's int8 is slower than that one) with vectors in fp32's own space, 10x closer.
- fp32 otherwise. On AVX2 without VNNI int8 is faithful (forced, it is used, labelled emulated) but slower:
  measured on an AVX2-only AMD EPYC (`avx2 fma f16c`, no AVX-512, no VNNI), 256 git-doc chunks, same process,
  alternating (benchmarks/results/int8-variants-20261207-165116.md and -165438.md): int8 12.6 chunks/s against
  torch fp32 15.1 on one thread (0.83x), 21.0 against 26.4 on two (0.80x), min cosine 0.99964; its git-doc
  hit@5 and evidence@5 equal fp32's (0.917, 0.683). So auto keeps fp32 there. (The first recipe measured 1.5x
  fp32 on such a CPU with a kernel that saturated: min cosine 0.973.)

This is a rule, not a measurement taken at start-up: a start-up race on a noisy machine could pick another vector
space from one run to the next, while a collection's vectors must stay in one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PRECISIONS = ("fp32", "bf16", "int8")
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})
# Shown beside the choice: what decided it, and what else bears on CPU inference speed.
RELEVANT_FLAGS = BF16_FLAGS | VNNI_FLAGS | frozenset({"avx2", "fma", "f16c", "avx512f", "amx_int8", "amx_tile"})
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class PrecisionChoice:
    requested: str  # the setting: auto, fp32, bf16 or int8
    precision: str  # what is used: fp32, bf16 or int8
    native: bool  # whether the CPU has instructions for it (fp32 always does)
    reason: str
    flags: tuple[str, ...]  # the relevant flags the CPU reports

    def describe(self) -> str:
        how = "chosen by flags" if self.requested == "auto" else "forced by RAG_EMBED_PRECISION"
        native = "" if self.native else ", emulated: this CPU lacks its instructions"
        return f"{self.precision} ({how}{native}; {self.reason}; flags: {' '.join(self.flags) or 'none'})"

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "flags": list(self.flags)}


def is_native(precision: str, flags: Collection[str]) -> bool:
    if precision == "bf16":
        return bool(BF16_FLAGS & set(flags))
    if precision == "int8":
        return bool(VNNI_FLAGS & set(flags))
    return True


def choose_precision(requested: str, flags: Collection[str], model: str = "") -> PrecisionChoice:
    """The precision for `requested` (auto, fp32, bf16, int8) on a CPU named `model` reporting `flags`."""
    present = set(flags)
    relevant = tuple(sorted(RELEVANT_FLAGS & present))
    if requested in PRECISIONS:
        return PrecisionChoice(requested, requested, is_native(requested, present), "as configured", relevant)
    if requested != "auto":
        raise ValueError(f"unknown embedding precision {requested!r}; choose auto, {', '.join(PRECISIONS)}")
    if "amx_bf16" in present:
        return PrecisionChoice("auto", "bf16", True, "bf16 instructions (amx_bf16)", relevant)
    if "avx512_bf16" in present and model.upper().startswith("AMD"):
        return PrecisionChoice("auto", "bf16", True, "bf16 instructions on AMD (avx512_bf16)", relevant)
    if vnni := sorted(VNNI_FLAGS & present):
        # int8 is faithful on every CPU class (min cosine 0.9996 to fp32); with VNNI it measured 1.6x fp32.
        why = "avx512_bf16 without AMX on a CPU that is not AMD's" if "avx512_bf16" in present else "no bf16"
        return PrecisionChoice("auto", "int8", True, f"VNNI ({' '.join(vnni)}); {why}", relevant)
    # int8 is faithful here too, but without VNNI it measured 0.8x fp32's speed.
    return PrecisionChoice("auto", "fp32", True, "no AMX, no avx512_bf16 on AMD, no VNNI", relevant)


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first processor in /proc/cpuinfo's text."""
    model, flags = "", frozenset[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


@lru_cache
def cpu() -> tuple[str, frozenset[str]]:
    """This machine's CPU model and flags; empty where /proc/cpuinfo cannot be read (not Linux)."""
    text = ""
    with contextlib.suppress(OSError):
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    return parse_cpuinfo(text)
