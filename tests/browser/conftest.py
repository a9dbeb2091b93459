"""What every browser test module shares: the app served on a free port and one Chromium per module,
defined beside the walk in test_browser.py and offered here to the other modules."""
from tests.browser.test_browser import app_url, browser, browser_folder  # noqa: F401 (fixtures)
