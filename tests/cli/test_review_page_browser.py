"""The review page in a real headless browser (Debian's chromium, driven by selenium through
chromedriver): decisions by keyboard (keep, drop, relabel through the picker, skip), the export
captured as a download and fed to `labelcli fix --decisions`, progress back after a reload, a class
named <script> shown as text. Skipped, with the reason, when the browser or selenium is absent."""
from __future__ import annotations

import os
import shutil
import time

import pandas as pd
import pytest

from tests.cli.test_review_page import EVIL, _evil_data, page
from tests.conftest import SAMPLE, cli_ok

CHROMIUM = os.environ.get("LABELCLI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("LABELCLI_CHROMEDRIVER") or shutil.which("chromedriver")


def _missing() -> str | None:
    if CHROMIUM is None:
        return "chromium not installed (apt-get install chromium chromium-driver)"
    if CHROMEDRIVER is None:
        return "chromedriver not installed (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=f"no headless browser: {_missing()}")


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as e:  # noqa: BLE001 - a browser that does not start is an environment problem
        pytest.skip(f"chromium did not start: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def keys(driver, *seq):
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver)
    for k in seq:
        chain = chain.send_keys(k)
    chain.perform()


def text(driver, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').textContent")


def download(driver, name: str = "decisions.csv", timeout: float = 15.0):
    path = driver.downloads / name
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and not list(driver.downloads.glob("*.crdownload")) and path.stat().st_size:
            return path
        time.sleep(0.1)
    raise AssertionError(f"no download in {timeout}s: {os.listdir(driver.downloads)}")


def test_review_by_keyboard_export_fix_and_reload(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    lab, pp = _evil_data(tmp_path)
    out = tmp_path / "review.html"
    cli_ok("review", "-l", lab, "-p", pp, "--out", out, "-q", "--top", "40")
    items = page(out)["items"]
    target = EVIL if items[2]["given"] != EVIL else "nine"
    browser.get(out.as_uri())
    assert text(browser, "current-index").startswith(f"#{items[0]['index']} ")
    keys(browser, "k", "d", "r")  # keep, drop, then the picker on the third
    assert browser.find_element("id", "picker").is_displayed()
    keys(browser, target[:4], Keys.ENTER)  # type to filter, Enter to choose
    keys(browser, "s")  # skip the fourth: not reviewed
    assert text(browser, "progress") == f"3 of {len(items)} reviewed"
    keys(browser, "h", "h")  # back to the relabeled one: the class name is shown as text
    assert text(browser, "decision") == f"relabel \u2192 {target}"
    assert browser.execute_script("return document.scripts.length") == 2  # nothing from the data ran
    evil_rows = [j for j, it in enumerate(items) if EVIL in (it["given"], it["suggested"])]
    assert evil_rows, "the sample should have a suspect given or suggested the renamed class"

    keys(browser, "e")
    csv = download(browser)
    dec = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert list(dec.columns) == ["index", "action", "new_label", "given_label"]
    assert dec["action"].tolist()[:5] == ["keep", "drop", "relabel", "", ""]
    fixed = tmp_path / "clean.csv"
    cli_ok("fix", "-l", lab, "--decisions", csv, "--out", fixed, "-q")
    clean = pd.read_csv(fixed, keep_default_na=False).set_index("index")
    i0, i1, i2, i3 = (items[j]["index"] for j in range(4))
    assert clean.loc[i0, "keep"] and clean.loc[i0, "label"] == items[0]["given"]
    assert not clean.loc[i1, "keep"]
    assert clean.loc[i2, "label"] == target and clean.loc[i2, "original_label"] == items[2]["given"]
    assert clean.loc[i3, "label"] == items[3]["given"] and not clean.loc[i3, "changed"]
    assert int(clean["changed"].sum()) == 1 and int((~clean["keep"].astype(bool)).sum()) == 1

    browser.refresh()  # progress comes back from localStorage
    assert text(browser, "progress") == f"3 of {len(items)} reviewed"
    assert text(browser, "current-index").startswith(f"#{items[2]['index']} ")
    keys(browser, "h")
    assert text(browser, "decision") == "drop"
    keys(browser, "h")  # the first
    for _ in range(evil_rows[0]):
        keys(browser, "j")
    shown = {text(browser, "given"), text(browser, "suggested")}
    assert EVIL in shown  # as text, not markup
    keys(browser, "g")  # the grid, one cell per suspect
    assert browser.execute_script("return document.querySelectorAll('#grid .cell').length") == len(items)
    assert not browser.find_element("id", "single").is_displayed()


def test_multi_label_relabel_toggles_tags(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    ml = SAMPLE / "digits_multilabel.csv"
    out = tmp_path / "m.html"
    cli_ok("review", "-l", ml, "-p", ml, "--prob-prefix", "prob_", "--label-col", "tags", "--out", out, "-q",
           "--top", "10")
    items = page(out)["items"]
    suggested = [t for t in items[0]["suggested"].split(",") if t]
    flip = "prime"  # toggled on top of the suggested set
    expected = sorted(set(suggested) ^ {flip}, key=page(out)["classes"].index)
    browser.get(out.as_uri())
    keys(browser, "r", "prim", Keys.ENTER, Keys.ENTER)  # toggle 'prime', then Enter on an empty filter applies
    assert text(browser, "progress") == f"1 of {len(items)} reviewed"
    keys(browser, "e")
    csv = download(browser)
    dec = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert list(dec.columns) == ["index", "action", "new_label", "given_labels"]
    assert dec.loc[0, "new_label"] == ",".join(expected)
    fixed = tmp_path / "clean.csv"
    cli_ok("fix", "-l", ml, "--label-col", "tags", "--decisions", csv, "--out", fixed, "-q")
    clean = pd.read_csv(fixed, keep_default_na=False).set_index("index")
    assert clean.loc[items[0]["index"], "labels" if "labels" in clean.columns else "label"] == ",".join(expected)
