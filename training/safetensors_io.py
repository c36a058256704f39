"""Minimal safetensors writer/reader for float32 tensors (no dependency on the safetensors package).

Layout: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...} padded with spaces
to a multiple of 8, then the raw little-endian data. Tensors are written in name order so the
file is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

import numpy as np


def safetensors_bytes(tensors: Mapping[str, np.ndarray],
                      metadata: Optional[Mapping[str, str]] = None) -> bytes:
    header: Dict[str, object] = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path: Union[str, Path], tensors: Mapping[str, np.ndarray],
                      metadata: Optional[Mapping[str, str]] = None) -> None:
    Path(path).write_bytes(safetensors_bytes(tensors, metadata))


def read_safetensors(path: Union[str, Path]) -> Dict[str, np.ndarray]:
    """Parse a float32 safetensors file, checking the header against the file size."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name!r} has dtype {info['dtype']}, only F32 is supported")
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        if end - begin != 4 * count or end > len(body):
            raise ValueError(f"{path}: tensor {name!r} data_offsets {info['data_offsets']} do not "
                             f"match its shape {info['shape']}")
        out[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"]).copy()
    return out
