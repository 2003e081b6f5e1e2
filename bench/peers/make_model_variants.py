#!/usr/bin/env python3
"""Writes Q8_0 and F16 versions of a GGUF model, so the CPU kernels for those types are
benchmarked on the same network as the Q4_1 default (docs/PERFORMANCE.md).

Every quantized tensor is dequantized to f32 and requantized with the gguf package's reference
quantizers (the same round-trip llama-quantize does from an f32 source); f32 tensors (norms) stay
f32. Metadata is copied unchanged except general.file_type.

    .venv/bin/python bench/peers/make_model_variants.py \
        ~/.cache/hearth/models/SmolLM2-135M-Instruct.Q4_1.gguf --out-dir ~/.cache/hearth/models

writes SmolLM2-135M-Instruct.Q8_0.gguf and SmolLM2-135M-Instruct.F16.gguf next to it (skipping
files that exist unless --force).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

# llama.cpp's general.file_type values (LLAMA_FTYPE_*)
FILE_TYPE = {Q.F16: 1, Q.Q8_0: 7}


def copy_metadata(reader: gguf.GGUFReader, writer: gguf.GGUFWriter, file_type: int) -> None:
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue  # written by the writer itself
        vtype = field.types[0]
        value = field.contents()
        if field.name == "general.file_type":
            value = file_type
        sub_type = field.types[-1] if vtype == V.ARRAY else None
        writer.add_key_value(field.name, value, vtype, sub_type=sub_type)


def convert(src: Path, dst: Path, target: Q) -> None:
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst, arch)
    copy_metadata(reader, writer, FILE_TYPE[target])
    for t in reader.tensors:
        # numpy shape of the logical tensor (GGUF stores ne innermost-first)
        shape = tuple(int(d) for d in reversed(t.shape))
        if t.tensor_type == Q.F32:
            writer.add_tensor(t.name, np.asarray(t.data, dtype=np.float32).reshape(shape))
            continue
        values = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
        if target == Q.F16:
            writer.add_tensor(t.name, values.astype(np.float16))
        else:
            packed = gguf.quants.quantize(values, target)
            writer.add_tensor(t.name, packed, raw_shape=packed.shape, raw_dtype=target)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="source .gguf (e.g. the Q4_1 default model)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: next to the source")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = parser.parse_args()
    out_dir = args.out_dir or args.model.parent
    stem = args.model.name.split(".")[0]  # SmolLM2-135M-Instruct
    for target, suffix in ((Q.Q8_0, "Q8_0"), (Q.F16, "F16")):
        dst = out_dir / f"{stem}.{suffix}.gguf"
        if dst.exists() and not args.force:
            print(f"{dst} exists (use --force to rewrite)")
            continue
        print(f"writing {dst} ...", flush=True)
        tmp = dst.with_suffix(".gguf.tmp")
        convert(args.model, tmp, target)
        tmp.replace(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
