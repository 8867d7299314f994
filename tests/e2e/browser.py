"""Debian's chromium and chromedriver, driven by Selenium, for the console's browser tests.

The binaries come from Debian (apt-get install chromium chromium-driver): the test setup
installs them when they are missing and it runs as root; otherwise the tests skip, and
under CI=true they fail rather than skip. Nothing is downloaded by Selenium itself: the
driver's path is given, so Selenium Manager never runs.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import UNDER_CI

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1600",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _present() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def _install() -> None:
    """apt-get install, as root only (a developer's machine is theirs to set up)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "check": False}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
    if subprocess.run(install, env=env, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, **quiet)
        subprocess.run(install, env=env, **quiet)


def chromium_ready() -> None:
    """Install chromium if needed and possible; skip (fail under CI) if it is not there."""
    if not _present():
        _install()
    if not _present():
        reason = f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        if UNDER_CI:
            pytest.fail(f"{reason} (CI=true: a missing browser is a failure)")
        pytest.skip(reason)


def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    return driver


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(900, min(height + 40, 4000)))
    driver.save_screenshot(str(path))
    return path
