"""The browser harness (tests/browser.py) fails a browser test on a console error, an uncaught
page error or a CSP violation, unless the test allows that error by name; and an allowance that
never fires fails too. Checked by running small browser tests in a pytest of their own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent

PAGES = '''
import pytest

pytestmark = pytest.mark.browser



def served(browser, body):
    """A page served under the app's kind of policy (no inline script or style)."""
    page = browser.new_page()
    page.route("http://site.test/", lambda route: route.fulfill(
        body=body, content_type="text/html",
        headers={"Content-Security-Policy": "script-src 'self'; style-src 'self'"},
    ))
    page.goto("http://site.test/")
    return page


def test_clean_page(browser):
    served(browser, "<p>fine</p>")


def test_console_error(browser):
    browser.new_page().evaluate("console.error('something broke')")


def test_uncaught_error(browser):
    page = browser.new_page()
    page.evaluate("setTimeout(() => { throw new Error('kaboom') }, 0)")
    page.wait_for_timeout(100)


def test_inline_style_refused_by_csp(browser):
    served(browser, "<p style='color: red'>x</p>")


@pytest.mark.browser_allows(r"something broke")
def test_allowed_error(browser):
    browser.new_page().evaluate("console.error('something broke')")


@pytest.mark.browser_allows(r"never happens")
def test_allowance_that_never_fires(browser):
    browser.new_page().set_content("<p>fine</p>")
'''


def test_browser_errors_fail_the_test_unless_allowed(pytester):
    pytester.makeconftest('pytest_plugins = ["tests.browser"]')
    pytester.makepyfile(test_pages=PAGES)
    pytester.makeini("[pytest]\nmarkers =\n    browser: drives a real Chromium")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider", "-rA")
    outcomes = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.outlines
        if line.startswith(("PASSED", "FAILED", "ERROR")) and "::" in line
    }
    assert outcomes == {
        "test_clean_page": "PASSED",
        "test_console_error": "FAILED",
        "test_uncaught_error": "FAILED",
        "test_inline_style_refused_by_csp": "FAILED",
        "test_allowed_error": "PASSED",
        "test_allowance_that_never_fires": "FAILED",
    }, result.stdout.str()
    output = result.stdout.str()
    assert "console: something broke" in output
    assert "page error: kaboom" in output
    assert "CSP: style-src-attr blocked inline" in output
    assert "allowed by browser_allows but never seen: 'never happens'" in output
