#!/usr/bin/env python3
"""Render a terminal capture with ANSI colours (tmux capture-pane -e -p) to PNG.

Usage: ansi2png.py CAPTURE.ans OUT.png [--cols 120] [--rows 36]
Needs Pillow and the DejaVu Sans Mono fonts (Debian: fonts-dejavu-core).
"""
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SIZE = 15
BG = (24, 24, 28)
FG = (220, 220, 220)
ANSI16 = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]


def palette(n):
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


def char_width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text, cols, rows):
    """Returns rows of cells: (char, fg, bg, bold, underline)."""
    grid = [[(" ", FG, BG, False, False) for _ in range(cols)] for _ in range(rows)]
    fg, bg, bold, underline, reverse = FG, BG, False, False, False
    for y, line in enumerate(text.split("\n")[:rows]):
        x = 0
        i = 0
        while i < len(line):
            m = re.match(r"\x1b\[([0-9;:]*)m", line[i:])
            if m:
                params = [p for p in re.split("[;:]", m.group(1))] or ["0"]
                params = [int(p) if p else 0 for p in params]
                j = 0
                while j < len(params):
                    p = params[j]
                    if p == 0:
                        fg, bg, bold, underline, reverse = FG, BG, False, False, False
                    elif p == 1:
                        bold = True
                    elif p == 2:
                        pass
                    elif p == 4:
                        underline = True
                    elif p == 7:
                        reverse = True
                    elif p == 22:
                        bold = False
                    elif p == 24:
                        underline = False
                    elif p == 27:
                        reverse = False
                    elif 30 <= p <= 37:
                        fg = ANSI16[p - 30]
                    elif 90 <= p <= 97:
                        fg = ANSI16[p - 90 + 8]
                    elif 40 <= p <= 47:
                        bg = ANSI16[p - 40]
                    elif 100 <= p <= 107:
                        bg = ANSI16[p - 100 + 8]
                    elif p == 39:
                        fg = FG
                    elif p == 49:
                        bg = BG
                    elif p in (38, 48) and j + 2 < len(params) and params[j + 1] == 5:
                        colour = palette(params[j + 2])
                        if p == 38:
                            fg = colour
                        else:
                            bg = colour
                        j += 2
                    elif p in (38, 48) and j + 4 < len(params) and params[j + 1] == 2:
                        colour = tuple(params[j + 2:j + 5])
                        if p == 38:
                            fg = colour
                        else:
                            bg = colour
                        j += 4
                    j += 1
                i += m.end()
                continue
            if line[i] == "\x1b":  # another escape: skip it
                m = re.match(r"\x1b[\[\]][^a-zA-Z]*[a-zA-Z]?", line[i:])
                i += m.end() if m else 1
                continue
            ch = line[i]
            i += 1
            w = char_width(ch)
            if w == 0:
                if x > 0:
                    c = grid[y][x - 1]
                    grid[y][x - 1] = (c[0] + ch,) + c[1:]
                continue
            if x + w > cols:
                break
            f, b = (bg, fg) if reverse else (fg, bg)
            grid[y][x] = (ch, f, b, bold, underline)
            if w == 2:
                grid[y][x + 1] = ("", f, b, bold, underline)
            x += w
        # capture-pane drops trailing blanks even when they carry a background
        # (a bar filled with one colour): the background still active at the
        # end of the line is what those cells had.
        # (Only on lines that printed something: a blank line prints nothing
        # and inherits no colour.)
        b = fg if reverse else bg
        for rest in range(x, cols) if x > 0 else ():
            grid[y][rest] = (" ", FG, b, False, False)
    return grid


def render(grid, out):
    regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", SIZE)
    boldf = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", SIZE)
    left, top, right, bottom = regular.getbbox("M")
    cw = int(regular.getlength("M"))
    ch = int(SIZE * 1.35)
    rows, cols = len(grid), len(grid[0])
    pad = 10
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(grid):
        for x, (text, fg, bg, bold, underline) in enumerate(row):
            px, py = pad + x * cw, pad + y * ch
            width = cw * (2 if x + 1 < cols and row[x + 1][0] == "" and text else 1)
            if bg != BG:
                draw.rectangle([px, py, px + width - 1, py + ch - 1], fill=bg)
            if not text or text == " ":
                continue
            if text[0] in "█▀▄▌▐░▒▓":
                # Block glyphs fill the whole cell so bars join up.
                shade = {"█": 1.0, "░": 0.3, "▒": 0.5, "▓": 0.75}.get(text[0], 1.0)
                colour = tuple(int(c * shade + b * (1 - shade)) for c, b in zip(fg, bg))
                draw.rectangle([px, py + 2, px + width - 1, py + ch - 3], fill=colour)
                continue
            draw.text((px, py + 2), text, font=boldf if bold else regular, fill=fg)
            if underline:
                draw.line([px, py + ch - 2, px + width - 1, py + ch - 2], fill=fg)
    img.save(out)


def main():
    args = sys.argv[1:]
    cols, rows = 120, 36
    if "--cols" in args:
        i = args.index("--cols")
        cols = int(args[i + 1])
        del args[i:i + 2]
    if "--rows" in args:
        i = args.index("--rows")
        rows = int(args[i + 1])
        del args[i:i + 2]
    src, out = args
    with open(src, encoding="utf-8", errors="replace") as f:
        text = f.read()
    render(parse(text, cols, rows), out)


if __name__ == "__main__":
    main()
