"""axe-core (npm, ``tests/a11y``) injected by Playwright into a page: the serious and
critical violations at each width, and sideways scrolling below the desktop width. Shared
by the hosted pages' and the console's browser tests; the page's context must be opened
with ``bypass_csp=True`` (only so that the test can inject the script; the CSP stays)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP, PHONE, SMALL = (1280, 900), (390, 844), (320, 640)
_RUN = """async () => {
    const r = await axe.run(document);
    return [r.passes.length, r.violations
        .filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ' ' + JSON.stringify(v.nodes.map(n => n.target)))];
}"""


def audit(
    page: Any,
    state: str,
    problems: list[str],
    axe_sizes: Sequence[tuple[int, int]] = (DESKTOP, PHONE),
    fit_sizes: Sequence[tuple[int, int]] = (PHONE, SMALL),
) -> None:
    """Run axe at each of ``axe_sizes`` and check that nothing scrolls sideways at each of
    ``fit_sizes``; add what is wrong to ``problems`` (named by ``state``). The viewport is
    left at the desktop width."""
    for size in dict.fromkeys([*axe_sizes, *fit_sizes]):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        if size in axe_sizes:
            if not page.evaluate("() => typeof window.axe === 'object'"):
                page.add_script_tag(path=str(AXE))
            checked, found = page.evaluate(_RUN)
            assert checked > 10, f"axe checked nothing on {state}"
            problems += [f"{state} @{size[0]}px: {v}" for v in found]
        if size in fit_sizes:
            wide = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if wide > 0:
                problems.append(f"{state} @{size[0]}px scrolls sideways by {wide}px")
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
