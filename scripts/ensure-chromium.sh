#!/usr/bin/env sh
# The e2e suite drives Debian's Chromium: Playwright cannot download its browsers here. On a fresh
# machine this installs it when it can (root with apt-get), or says in one line what to install,
# instead of letting Playwright fail on a missing executable.
set -eu
if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] && exit 0
  echo "e2e tests: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; point it at Chromium or unset it" >&2
  exit 1
fi
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "e2e tests: installing Debian's chromium package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "e2e tests need Chromium: install Debian's chromium package (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary" >&2
exit 1
