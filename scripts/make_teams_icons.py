"""Draw the app icons (run once; the PNGs are committed): `python scripts/make_teams_icons.py`.

Teams wants `color.png` 192x192 in full colour and `outline.png` 32x32, white on transparent.
The motif is a small bar chart with a falling trend line: costs going down.
"""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent.parent / "adapters" / "teams" / "app_package"
AZURE_BLUE = (0, 120, 212, 255)
WHITE = (255, 255, 255, 255)


def draw_motif(draw: ImageDraw.ImageDraw, size: int, inset: float) -> None:
    """Three bars and a trend line, scaled to a `size` square with `inset` margins (fraction)."""
    left, right = size * inset, size * (1 - inset)
    bottom, top = size * (1 - inset), size * inset
    width = right - left
    bar = width / 5
    for i, height in enumerate((0.85, 0.6, 0.35)):
        x0 = left + i * 2 * bar
        draw.rectangle((x0, bottom - (bottom - top) * height, x0 + bar, bottom), fill=WHITE)
    line = max(1, round(size / 24))
    span = bottom - top
    points = [(left, bottom - span), (right, bottom - span * 0.5)]
    draw.line(points, fill=WHITE, width=line)


def main() -> None:
    color = Image.new("RGBA", (192, 192), AZURE_BLUE)
    draw_motif(ImageDraw.Draw(color), 192, inset=0.22)
    color.convert("RGB").save(HERE / "color.png", optimize=True)

    outline = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw_motif(ImageDraw.Draw(outline), 32, inset=0.12)
    outline.save(HERE / "outline.png", optimize=True)


if __name__ == "__main__":
    main()
