"""The top frames of a py-spy ``--format raw`` profile (collapsed stacks).

    python bench/profile_top.py PROFILE.txt [--top 25]

Prints the frames with the most samples on top of the stack (self) and the frames on the
most stacks (inclusive), as shares of all samples. Frames are shortened to
``function (file:line)`` with the file relative to site-packages or the repository.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

LINE = re.compile(r"^(.*) (\d+)$")
NATIVE = re.compile(r"\.(c|h|so[.\d]*)(:\d+)?\)$|\(lib|^0x")
SHORTEN = re.compile(r"\(.*?(?:site-packages/|authserver/|lib/python3\.\d+/)(.*?)\)")


def short(frame: str) -> str:
    frame = SHORTEN.sub(r"(\1)", frame)
    return frame if len(frame) < 110 else frame[:107] + "..."


def load(path: Path) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        if not m:
            continue
        frames = [short(f) for f in m.group(1).split(";") if f]
        n = int(m.group(2))
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return own, inclusive, total


def render(path: Path, top: int) -> str:
    own, inclusive, total = load(path)
    out = [f"{total} samples"]
    out.append("self:")
    out += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    # Inclusive: Python frames below the event loop's (native frames and the frames on
    # nearly every stack say little).
    out.append("inclusive (Python frames on fewer than 90 % of the stacks):")
    shown = [(f, n) for f, n in inclusive.most_common() if n < 0.9 * total and not NATIVE.search(f)]
    out += [f"  {n / total:6.1%}  {f}" for f, n in shown[:top]]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    print(render(args.profile, args.top))


if __name__ == "__main__":
    main()
