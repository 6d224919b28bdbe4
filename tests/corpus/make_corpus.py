#!/usr/bin/env python3
"""Writes the corpus of hostile problem files (tests/corpus/npz/*.npz) and tests/corpus/manifest.tsv.

Each file is a small valid problem (A: 4 x 2 x 3, b: 4, float64) damaged in one way that the issue tracker or a
fuzzer found. The manifest records, for every file, what NumPy 1.24 does with it (np.load plus reading every array)
and the fragment that flatness's one-line error must contain; tests/Solver.Tests/CorpusTests.cs checks the latter.
Rerun only to add cases: python3 tests/corpus/make_corpus.py (needs numpy); the files are committed.
"""
import io
import os
import struct
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "npz")

A = np.arange(24, dtype="<f8").reshape(4, 2, 3) / 10.0
B = np.array([1.0, 2.0, 3.0, 4.0])


def npy(array=None, header=None, data=None, magic=b"\x93NUMPY", version=(1, 0)):
    """An .npy file: NumPy's own bytes for `array`, or a hand-made header dict and data."""
    if array is not None:
        buf = io.BytesIO()
        np.save(buf, array)
        return buf.getvalue()
    text = header.encode("latin1")
    total = len(magic) + 2 + 2 + len(text) + 1
    pad = (64 - total % 64) % 64
    text = text + b" " * pad + b"\n"
    return magic + bytes(version) + struct.pack("<H", len(text)) + text + data


def archive(entries, deflate=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: the same bytes on every run
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(info, payload)
    return bytearray(buf.getvalue())


def valid(deflate=False):
    return archive([("A.npy", npy(A)), ("b.npy", npy(B))], deflate)


def central(data):
    """Offset of the central directory (from the end-of-central-directory record)."""
    return struct.unpack_from("<I", data, len(data) - 6)[0]


def find(data, needle, start=0):
    at = bytes(data).find(needle, start)
    assert at >= 0, needle
    return at


CASES = []


def case(name, expected, why):
    def register(build):
        CASES.append((name, build, expected, why))
        return build
    return register


@case("bad-crc", "bad CRC-32", "one data byte of A flipped (a loss of 1.4e49 instead of 8.75 before the fix)")
def _():
    d = valid()
    d[find(d, b"\x93NUMPY") + 128 + 40] ^= 0x40
    return d


@case("encrypted-flag", "encrypted", "the encryption bit set in the central directory")
def _():
    d = valid()
    c = central(d)
    d[c + 8] |= 1
    return d


@case("names-differ", "local and central names differ", "the local header names Z.npy, the central directory A.npy")
def _():
    d = valid()
    d[30] = ord("Z")
    return d


@case("sizes-disagree", "disagree on the CRC-32 or the sizes", "the local header's sizes differ from the central directory's")
def _():
    d = valid()
    struct.pack_into("<I", d, 18, struct.unpack_from("<I", d, 18)[0] + 8)  # compressed size
    struct.pack_into("<I", d, 22, struct.unpack_from("<I", d, 22)[0] + 8)  # uncompressed size
    return d


@case("duplicate-entries", "entry appears twice", "A.npy stored twice with different values")
def _():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return archive([("A.npy", npy(A)), ("b.npy", npy(B)), ("A.npy", npy(A * 2))])


@case("huge-shape", "truncated data", "a header claiming shape (100000000, 2, 3), 4.8 GB, over 48 bytes of data")
def _():
    return archive([("A.npy", npy(header="{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 2, 3), }", data=bytes(48))),
                    ("b.npy", npy(B))])


@case("absurd-dims", "dimension 1099511627776 is too large", "a header claiming shape (1099511627776, 2, 3)")
def _():
    return archive([("A.npy", npy(header="{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 2, 3), }", data=bytes(48))),
                    ("b.npy", npy(B))])


@case("zip-bomb", "expands past its declared", "a deflated entry of 8 MB of zeros that declares 1000 bytes")
def _():
    big = npy(np.zeros(1 << 20))
    d = archive([("A.npy", big), ("b.npy", npy(B))], deflate=True)
    struct.pack_into("<I", d, 22, 1000)
    c = central(d)
    struct.pack_into("<I", d, c + 24, 1000)
    return d


@case("header-escapes", "\\x1b", "a header with a newline and a terminal escape (shown escaped, never raw)")
def _():
    return archive([("A.npy", npy(header="{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2, 3), '\n\x1b[31mred': 1, }", data=A.tobytes())),
                    ("b.npy", npy(B))])


@case("truncated", "truncated", "the archive cut in half")
def _():
    d = valid()
    return d[: len(d) // 2]


@case("truncated-deflated", "truncated", "a deflated archive cut in half")
def _():
    d = valid(deflate=True)
    return d[: len(d) // 2]


@case("empty", "empty file", "zero bytes")
def _():
    return b""


@case("not-a-zip", "not an .npz archive", "plain text")
def _():
    return b"this is not an archive\n" * 10


@case("pickled-object", "dtype", "an object array (NumPy needs allow_pickle to read it; flatness never unpickles)")
def _():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return archive([("A.npy", buf.getvalue()), ("b.npy", npy(B))])


@case("bad-magic", "magic", "an entry whose .npy magic string is wrong")
def _():
    return archive([("A.npy", npy(header="{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2, 3), }", data=A.tobytes(), magic=b"\x93NUMPX")),
                    ("b.npy", npy(B))])


@case("header-length-past-end", "truncated header", "an .npy header length pointing past the entry")
def _():
    entry = bytearray(npy(A))
    struct.pack_into("<H", entry, 8, 60000)
    return archive([("A.npy", bytes(entry)), ("b.npy", npy(B))])


@case("negative-shape", "shape", "a header with shape (-4, 2, 3)")
def _():
    return archive([("A.npy", npy(header="{'descr': '<f8', 'fortran_order': False, 'shape': (-4, 2, 3), }", data=A.tobytes())),
                    ("b.npy", npy(B))])


@case("complex-dtype", "dtype", "A stored as complex128")
def _():
    return archive([("A.npy", npy(A.astype(np.complex128))), ("b.npy", npy(B))])


@case("big-endian", "big-endian", "A stored big-endian (>f8)")
def _():
    return archive([("A.npy", npy(A.astype(">f8"))), ("b.npy", npy(B))])


@case("fortran-order", "Fortran", "A in Fortran order (NumPy reads it; flatness asks for C order rather than guess)")
def _():
    return archive([("A.npy", npy(np.asfortranarray(A))), ("b.npy", npy(B))])


@case("nan-label", "NaN", "b holds a NaN")
def _():
    b = B.copy()
    b[2] = np.nan
    return archive([("A.npy", npy(A)), ("b.npy", npy(b))])


@case("inf-measurement", "Inf", "A holds +Inf")
def _():
    a = A.copy()
    a[1, 0, 2] = np.inf
    return archive([("A.npy", npy(a)), ("b.npy", npy(B))])


@case("missing-labels", "'b'", "no b")
def _():
    return archive([("A.npy", npy(A))])


@case("labels-length", "'b'", "b has 3 entries for 4 measurements")
def _():
    return archive([("A.npy", npy(A)), ("b.npy", npy(B[:3]))])


def numpy_verdict(path):
    try:
        with np.load(path) as z:
            for key in z.files:
                _ = z[key]
        return "accepts"
    except Exception as e:  # noqa: BLE001 - the point is to record whatever NumPy raises
        return "rejects (" + type(e).__name__ + ")"


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = ["file\tnumpy\tflatness_error_contains\twhat"]
    for name, build, expected, why in CASES:
        path = os.path.join(OUT, name + ".npz")
        with open(path, "wb") as f:
            f.write(bytes(build()))
        rows.append(f"{name}.npz\t{numpy_verdict(path)}\t{expected}\t{why}")
    with open(os.path.join(HERE, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
