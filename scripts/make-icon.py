"""Draws media/icon.png (128x128), the extension's Marketplace icon: a lens over three thoughts.

The three dots are a coconut's three "eyes" and the continuous thoughts the lens decodes; their
warming colours are the probabilities the panel draws. Drawn 4x larger and downsampled, so the
edges are antialiased without a vector toolchain.

    /usr/bin/python3 scripts/make-icon.py      (needs Pillow: python3-pil)
"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 128
SCALE = 4
OUT = Path(__file__).resolve().parent.parent / "media" / "icon.png"


def main() -> None:
    s = SIZE * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)

    # Background: a rounded square in a deep coconut-shell brown, lighter towards the top.
    top, bottom = (92, 64, 51), (46, 31, 26)
    grad = Image.new("RGBA", (s, s))
    gd = ImageDraw.Draw(grad)
    for y in range(s):
        t = y / (s - 1)
        gd.line([(0, y), (s, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)) + (255,))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, s - 1, s - 1], radius=26 * SCALE, fill=255)
    img.paste(grad, (0, 0), mask)

    # The lens: a light ring with a handle to the lower right.
    cx, cy, r, w = 56 * SCALE, 56 * SCALE, 34 * SCALE, 9 * SCALE
    cream = (246, 238, 222, 255)
    d.line([(cx + 24 * SCALE, cy + 24 * SCALE), (104 * SCALE, 104 * SCALE)], fill=cream, width=13 * SCALE)
    d.ellipse([104 * SCALE - 6.5 * SCALE, 104 * SCALE - 6.5 * SCALE, 104 * SCALE + 6.5 * SCALE, 104 * SCALE + 6.5 * SCALE], fill=cream)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(30, 22, 20, 255), outline=cream, width=w)

    # Three thoughts inside the lens, cool to warm.
    for i, colour in enumerate([(120, 190, 220), (240, 190, 90), (240, 110, 80)]):
        x = cx + (i - 1) * 17 * SCALE
        rr = 7 * SCALE
        d.ellipse([x - rr, cy - rr, x + rr, cy + rr], fill=colour + (255,))

    img.resize((SIZE, SIZE), Image.LANCZOS).save(OUT, optimize=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
