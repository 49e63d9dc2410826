"""Browser tests (Playwright + Debian's Chromium + axe-core). See conftest.py."""
