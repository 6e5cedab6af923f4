"""The operator's branding as pages and e-mails see it (from the ``brand_*`` settings).

The primary colour fills buttons and colours links; the text on buttons is white or black,
whichever contrasts more (WCAG 2.x relative luminance), and links fall back to the body
text colour when the primary colour is too light to read on white (below 4.5:1)."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.settings import Settings

TEXT = "#1f2328"
WHITE = "#ffffff"


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str | None
    favicon_url: str | None
    primary_color: str
    on_primary_color: str
    link_color: str
    support_url: str | None
    privacy_url: str | None
    terms_url: str | None

    @property
    def stylesheet(self) -> str:
        """The custom properties ``style.css`` uses (served as /brand.css)."""
        return (
            ":root { "
            f"--primary: {self.primary_color}; "
            f"--on-primary: {self.on_primary_color}; "
            f"--link: {self.link_color}; "
            "}\n"
        )


def _luminance(color: str) -> float:
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def brand_of(settings: Settings) -> Brand:
    primary = settings.brand_primary_color.lower()
    on_primary = WHITE if contrast(primary, WHITE) >= contrast(primary, TEXT) else TEXT
    return Brand(
        name=settings.brand_name,
        logo_url=settings.brand_logo_url,
        favicon_url=settings.brand_favicon_url,
        primary_color=primary,
        on_primary_color=on_primary,
        link_color=primary if contrast(primary, WHITE) >= 4.5 else TEXT,
        support_url=settings.brand_support_url,
        privacy_url=settings.brand_privacy_url,
        terms_url=settings.brand_terms_url,
    )
