"""
C{--dev} in a real browser: headless Chromium with the demo home page open
while the test saves changes to the site; the open tab shows each change by
itself (the test never navigates), through the live-reload script and its
event stream.

The waits poll the page (C{execute_script}) with a deadline; the page's
own marker, set before a save and gone after, proves it reloaded rather
than that the test loaded it again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.devsite import DEADLINE, STYLESHEET, appendTo, editTemplate
from tests.helpers import (
    copySite,
    requireTool,
    sharedCertificates,
    startChromium,
    startServer,
)

#: What the open page reports: its heading, the heading's letter spacing,
#: whether the marker the test set is still there, and how it was loaded.
_STATE = """
const heading = document.getElementById('hero-title');
return {
  heading: heading ? heading.textContent : null,
  spacing: heading ? getComputedStyle(heading).letterSpacing : null,
  marked: window.h2siteTestMark === true,
  navigation: performance.getEntriesByType('navigation')[0].type,
  ready: document.readyState,
};
"""

#: Marks the page as loaded by the test: a reload clears it.
_MARK = "window.h2siteTestMark = true;"


class DevBrowserTests(SynchronousTestCase):
    """
    The open tab follows the saves.
    """

    def setUp(self) -> None:
        chromium, driver = requireTool("chromium"), requireTool("chromedriver")
        certs = sharedCertificates()
        tmp = Path(self.mktemp()).absolute()
        tmp.mkdir()
        self.site = copySite(tmp / "site")
        self.server = startServer(
            self,
            "--site",
            str(self.site),
            "--port",
            certs.endpoint(),
            "--dev",
            cwd=tmp,
        )
        self.server.waitForOutput("h2site --dev: watching ")
        self.browser = startChromium(
            chromium, driver, tmp / "profile", certs.cert, 0, cacheDisabled=False
        )
        self.addCleanup(self.browser.quit)
        # Saving at once is fine: a page whose event stream connects only
        # after a change is told to reload then (its build is older).
        self.browser.get(self.server.url + "/")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.browser.execute_script(_STATE)
        return result

    def waitFor(self, check: Any, what: str) -> dict[str, Any]:
        """
        Poll the page until C{check(state)} holds, within the deadline.
        """
        deadline = time.monotonic() + DEADLINE
        while True:
            state = self.state()
            if state["ready"] == "complete" and check(state):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed {what}: {state}")
            time.sleep(0.05)

    def test_templateEdit(self) -> None:
        """
        After a template is saved, the open page shows the new heading, by
        a reload of its own.
        """
        self.assertIn("Static sites over HTTP/2", self.state()["heading"])
        self.browser.execute_script(_MARK)
        editTemplate(self.site, "Saved and shown")
        state = self.waitFor(
            lambda s: (s["heading"] or "").startswith("Saved and shown"),
            "the new heading",
        )
        self.assertFalse(state["marked"])
        self.assertEqual(state["navigation"], "reload")

    def test_stylesheetEdit(self) -> None:
        """
        After a stylesheet is saved, the open page is styled by its new
        version (named by its new fingerprint, so no cached copy is used).
        """
        before = self.state()["spacing"]
        self.assertNotEqual(before, "7px")
        self.browser.execute_script(_MARK)
        appendTo(self.site, STYLESHEET, "\n#hero-title { letter-spacing: 7px }\n")
        state = self.waitFor(lambda s: s["spacing"] == "7px", "the new style")
        self.assertFalse(state["marked"])
        # And again: the reloaded page listens too.
        self.browser.execute_script(_MARK)
        appendTo(self.site, STYLESHEET, "\n#hero-title { letter-spacing: 3px }\n")
        self.waitFor(lambda s: s["spacing"] == "3px", "the second style")
