"""A small raster PMTiles archive for the tests: one green 256×256 PNG tile per tile of zooms 10 to 13 over
the commune's bounding box (the synthetic commune lies in Paris' quartiers)."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

BOX = (2.22, 48.81, 2.47, 48.91)  # lon, lat


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def write(path: Path, zooms: range = range(10, 14)) -> int:
    tile = png((60, 140, 60))
    ids = set()
    for z in zooms:
        x0, y1 = tile_xy(BOX[0], BOX[1], z)
        x1, y0 = tile_xy(BOX[2], BOX[3], z)
        ids.update(zxy_to_tileid(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id in sorted(ids):
            writer.write_tile(tile_id, tile)
        writer.finalize({"tile_type": TileType.PNG, "tile_compression": Compression.NONE,
                         "min_zoom": zooms.start, "max_zoom": zooms.stop - 1,
                         "min_lon_e7": int(BOX[0] * 1e7), "min_lat_e7": int(BOX[1] * 1e7),
                         "max_lon_e7": int(BOX[2] * 1e7), "max_lat_e7": int(BOX[3] * 1e7),
                         "center_zoom": zooms.start, "center_lon_e7": int((BOX[0] + BOX[2]) / 2 * 1e7),
                         "center_lat_e7": int((BOX[1] + BOX[3]) / 2 * 1e7)}, {"attribution": "test"})
    return len(ids)
