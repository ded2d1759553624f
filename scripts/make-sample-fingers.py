#!/usr/bin/env python3
"""Draws the sample card's two synthetic index fingerprints (no real person's: ridges drawn from a formula) as
8-bit grey JPEG 2000 images of 500 ppi, as ISO/IEC 19794-4 finger images in DG3 hold them:
Vectors/sample-card/finger-2.jp2 (right index) and finger-7.jp2 (left index). Needs Pillow (pip install pillow);
the images are committed, so this runs only to change them."""
import math
import pathlib
import sys

from PIL import Image

W, H = 200, 250


def finger(seed: float) -> Image.Image:
    img = Image.new("L", (W, H), 255)
    px = img.load()
    cx, cy = W / 2 + 6 * math.sin(seed), H * 0.55
    for y in range(H):
        for x in range(W):
            # An elliptical fingertip, a loop of ridges around a core, a little swirl.
            ex, ey = (x - W / 2) / (W * 0.46), (y - H * 0.52) / (H * 0.47)
            if ex * ex + ey * ey > 1:
                continue
            dx, dy = x - cx, (y - cy) * 0.8
            r = math.hypot(dx, dy)
            a = math.atan2(dy, dx)
            v = math.sin(r / 1.45 + 2.2 * math.sin(a * 2 + seed) + 0.9 * math.sin(a * 3 + x / 40.0))
            px[x, y] = 40 if v > 0.1 else 235
    return img


out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "Vectors/sample-card")
for position, seed in ((2, 0.7), (7, 2.3)):
    finger(seed).save(out / f"finger-{position}.jp2", "JPEG2000", quality_mode="rates", quality_layers=[12], irreversible=True)
    print(out / f"finger-{position}.jp2", (out / f"finger-{position}.jp2").stat().st_size, "bytes")
