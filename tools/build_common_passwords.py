"""Regenerate authserver/accounts/common_passwords.txt from the `zxcvbn` package.

    pip install zxcvbn && python tools/build_common_passwords.py

The list is zxcvbn's `passwords` frequency list (MIT licence), most common first, kept to
the entries the length rule would not already refuse, case-folded. The generated file
is committed, so the server has no runtime dependency on zxcvbn.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from authserver.accounts.policy import MAX_LENGTH, MIN_LENGTH

OUT = Path(__file__).resolve().parents[1] / "authserver" / "accounts" / "common_passwords.txt"


def main() -> None:
    seen: set[str] = set()
    entries: list[str] = []
    for word in FREQUENCY_LISTS["passwords"]:
        word = word.strip().casefold()
        if MIN_LENGTH <= len(word) <= MAX_LENGTH and word not in seen:
            seen.add(word)
            entries.append(word)
    header = [
        f"# Common passwords refused by the password policy ({len(entries)} entries).",
        f"# Source: the `passwords` frequency list of zxcvbn {version('zxcvbn')} (MIT licence),",
        f"# entries of {MIN_LENGTH}+ characters, case-folded, most common first.",
        "# Regenerate with tools/build_common_passwords.py.",
    ]
    OUT.write_text("\n".join(header + entries) + "\n", encoding="utf-8")
    print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
    main()
