#!/usr/bin/env python
"""Regenerate docs/screenshots/ (the README's screens) from the live demo.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Serves `frontdesk demo` on a free port and a throwaway data dir (its channels connected to
the local stand-ins, every one Connected; no new clients during the shoot), logs in with the
credentials it prints and drives Debian's Chromium (/usr/bin/chromium) through Playwright at
1280 px (desktop) and 390 px (phone). Fails on any console error or CSP violation.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.live import base_env, free_port, running, wait_until_up  # noqa: E402

PRINTED = re.compile(r"log in as (\S+) / (\S+)")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="frontdesk-shots-"))
    env = base_env(data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(env, ["demo", "--port", str(port), "--new-client-every", "0"]) as procs:
        wait_until_up(base, procs, timeout=120)
        printed = PRINTED.search((data / "process-0.log").read_text())
        if printed is None:
            raise SystemExit("frontdesk demo printed no login")
        errors = shoot(base, out, printed.group(1), printed.group(2))
    if errors:
        print("the browser reported errors:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    print(f"screenshots in {out}")
    return 0


def shoot(base: str, out: Path, email: str, password: str) -> list[str]:
    errors: list[str] = []

    def page_in(browser, viewport, scale):
        context = browser.new_context(viewport=viewport, device_scale_factor=scale)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/login/")
        return page

    def log_in(page):
        page.fill("#id_username", email)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.wait_for_timeout(500)

    def open_row(page, name: str, text: str):
        page.click(f"#rows .row >> text={name}")
        expect(page.locator("#thread")).to_contain_text(text)
        page.wait_for_timeout(600)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = page_in(browser, DESKTOP, 1)
            page.screenshot(path=str(out / "login.png"))
            log_in(page)
            page.screenshot(path=str(out / "inbox.png"))
            open_row(page, "Grace Kim", "these colours")
            page.screenshot(path=str(out / "whatsapp-thread.png"))
            open_row(page, "Robert Fox", "Website for Fox & Co")
            page.screenshot(path=str(out / "email-thread.png"))
            open_row(page, "Laura Chen", "Here is our brief")
            page.screenshot(path=str(out / "linkedin-thread.png"))
            open_row(page, "Kwame Mensah", "my restaurant")
            page.check("input[name=mode][value=note]")
            page.fill(
                "#reply-text", "Restaurant sites are Priya's favourite: @Priya can you take it?"
            )
            page.screenshot(path=str(out / "note.png"))
            page.click("summary:has-text('Snooze')")
            page.screenshot(path=str(out / "snooze-menu.png"))
            page.keyboard.press("Escape")
            page.goto(f"{base}/")
            page.keyboard.press("?")
            page.wait_for_timeout(200)
            page.screenshot(path=str(out / "shortcuts.png"))
            for name, path in [
                ("apps", "/apps/"),
                ("leads", "/leads/"),
                ("deals", "/deals/"),
                ("contacts", "/contacts/"),
                ("settings", "/settings/"),
            ]:
                page.goto(f"{base}{path}")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / f"{name}.png"))
            page.context.close()

            page = page_in(browser, PHONE, 2)
            log_in(page)
            page.screenshot(path=str(out / "phone-list.png"))
            open_row(page, "Tomás Silva", "push the launch")
            page.screenshot(path=str(out / "phone-thread.png"))
            page.context.close()
        finally:
            browser.close()
    return errors


if __name__ == "__main__":
    raise SystemExit(main())
