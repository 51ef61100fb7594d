"""Regenerate the report screenshots under docs/ in headless Chromium (Debian: chromium + chromium-driver).

    python3 scripts/screenshots.py            # sample_logs/ with its policy and invoices
    python3 scripts/screenshots.py --out DIR  # somewhere else (the tests use this)

Writes, from one HTML report:
  report.png        the top of the page at 1400 px wide (what a finance lead sees first)
  report-print.png  the first 3,400 px of the page with print styles at A4 width (794 px)
  report-full.png   with --full only: the whole page at 1400 px (large; not kept in docs/)
and prints, for the whole page at each width, the tables wider than their container (clipped).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Every element whose content is wider than its box, i.e. clipped or scrolled away at this width.
OVERFLOW_JS = """
return Array.from(document.querySelectorAll('table, .scroll, section, .card')).filter(function (e) {
  if (!e.getClientRects().length || e.closest('details:not([open])') && !e.matches('details > summary *')) { return false; }
  var r = e.getBoundingClientRect();
  var clipped = e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible';
  return clipped || r.right > document.documentElement.clientWidth + 1;
}).map(function (e) { return (e.id || e.closest('section') && e.closest('section').id || e.tagName) + ' ' +
  e.tagName + ' ' + e.scrollWidth + '>' + e.clientWidth; });
"""


def browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="audit-logs-shots-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    service = Service(executable_path=str(CHROMEDRIVER)) if CHROMEDRIVER.exists() else Service()
    driver = webdriver.Chrome(options=opts, service=service)
    driver._profile = profile  # removed in close()
    return driver


def close(driver) -> None:
    driver.quit()
    shutil.rmtree(driver._profile, ignore_errors=True)


def shot(driver, page: Path, png: Path, width: int, *, print_media: bool = False, full: bool = True,
         height: int = 1000, cap: int = 16000) -> list[str]:
    """One screenshot of ``page`` at ``width`` (the whole page when ``full``); returns the overflowing elements."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print" if print_media else "screen"})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.get(page.as_uri())
    if print_media:
        driver.execute_script("document.querySelectorAll('details').forEach(function (d) { d.open = true; });")
    overflow = driver.execute_script(OVERFLOW_JS)
    total = min(driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)"), cap) if full else height
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": int(min(total, 16000)), "deviceScaleFactor": 1, "mobile": False})
    clip = {"x": 0, "y": 0, "width": width, "height": int(min(total, 16000)), "scale": 1}
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full,
                                                             "clip": clip})["data"]
    png.write_bytes(base64.b64decode(data))
    return overflow


def render_report(out: Path) -> Path:
    """The HTML report of sample_logs/ (LiteLLM payloads, its policy, its invoices)."""
    sys.path.insert(0, str(REPO))
    from auditor import audit
    from auditor.reporters import renderer

    logs = REPO / "sample_logs"
    result = audit([logs / "litellm_payload.jsonl"], logs / "policy.toml",
                   invoices=[REPO / "sample_invoices"] if (REPO / "sample_invoices").exists() else None)
    page = out / "report.html"
    page.write_text(renderer("html")(result), encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="where the PNGs go (default docs/)")
    ap.add_argument("--html", type=Path, help="screenshot this report instead of rendering sample_logs/")
    ap.add_argument("--check", action="store_true", help="exit 1 when any table overflows")
    ap.add_argument("--full", action="store_true", help="also the whole page at 1400 px (report-full.png)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        page = args.html or render_report(Path(tmp))
        driver = browser(1400, 1000)
        try:
            found = {
                "report.png": shot(driver, page, args.out / "report.png", 1400, full=False, height=1400),
                "report-print.png": shot(driver, page, args.out / "report-print.png", 794, print_media=True, cap=3400),
            }
            if args.full:
                found["report-full.png"] = shot(driver, page, args.out / "report-full.png", 1400)
        finally:
            close(driver)
    print(json.dumps({"out": str(args.out), "overflowing": found}, indent=2))
    return 1 if args.check and any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
