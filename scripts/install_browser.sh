#!/usr/bin/env bash
# Install Debian's chromium for the browser test of the HTML report (tests/behaviour/test_report_browser.py),
# unless it is there already; fail loudly when it cannot be installed, so that no test run can skip the
# browser test without anyone noticing. AEKIT_CHROMIUM names another path to check (default /usr/bin/chromium).
set -euo pipefail
CHROMIUM=${AEKIT_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "installing Debian's chromium for the browser test of the report"
# one command a line: under set -e, a failure inside 'a && b' would be ignored
if ! $SUDO apt-get update -qq; then
  echo "error: 'apt-get update' failed, so chromium cannot be installed for the browser test of the report;" \
       "fix the package sources (or install chromium at $CHROMIUM) and run this again." >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; then
  echo "error: 'apt-get install chromium' failed; the browser test of the report needs it at $CHROMIUM." >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "error: chromium was installed but $CHROMIUM is missing; the browser test of the report needs it there." >&2
  exit 1
fi
