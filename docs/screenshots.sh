#!/usr/bin/env bash
# PNG screenshots of the web console on the demo's data, into docs/screenshots/:
# runs `warroom demo --keep`, serves the database it kept, and drives headless Chromium through
# chromedriver's WebDriver API (plain curl, no test harness) as `alice`, the demo's commander.
# Needs chromium and chromedriver (apt-get install chromium chromium-driver) and, for emoji, a colour
# emoji font (apt-get install fonts-noto-color-emoji). Usage: docs/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WARROOM_BIN:-target/debug/warroom}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
OUT=docs/screenshots
[ -x "$BIN" ] || cargo build --bin warroom
fc-list 2>/dev/null | grep -qi 'emoji' ||
  echo "warning: no colour emoji font, emoji will be boxes (apt-get install fonts-noto-color-emoji)" >&2
mkdir -p "$OUT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

demo=$("$BIN" demo --keep)
dir=$(printf '%s\n' "$demo" | sed -n 's/^The demo.s database and catalog are kept in //p')
[ -d "$dir" ] || { echo "the demo did not keep its database" >&2; exit 1; }
port=$(free_port)
dport=$(free_port)
WARROOM_DATABASE__URL="sqlite://$dir/warroom.db" WARROOM_CATALOG__PATH="$dir/services.toml" \
  WARROOM_ROLES__ADMIN=alice "$BIN" serve --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
server=$!
"$CHROMEDRIVER" --port="$dport" >/dev/null 2>&1 &
driver=$!
trap 'kill $server $driver 2>/dev/null; rm -rf "$dir"' EXIT
BASE="http://127.0.0.1:$port"
WD="http://127.0.0.1:$dport"
wait_for "$BASE/healthz" || wait_for "$BASE/"
wait_for "$WD/status"

caps='{"capabilities":{"alwaysMatch":{"browserName":"chrome","goog:chromeOptions":{"binary":"'"$CHROMIUM"'",
  "args":["--headless","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--hide-scrollbars","--window-size=1280,1500"]}}}}'
sid=$(curl -sf -XPOST "$WD/session" -H 'Content-Type: application/json' -d "$caps" |
  grep -o '"sessionId":"[^"]*"' | cut -d'"' -f4)
wd() { curl -sf -XPOST "$WD/session/$sid/$1" -H 'Content-Type: application/json' -d "$2" >/dev/null; }
open_page() { wd url "{\"url\":\"$BASE$1\"}"; sleep 1; } # a moment for the chart image and the live stream
shot() {
  curl -sf "$WD/session/$sid/screenshot" | sed -e 's/^{"value":"//' -e 's/"}$//' | base64 -d >"$OUT/$1.png"
  echo "wrote $OUT/$1.png"
}

open_page /
wd cookie '{"cookie":{"name":"warroom_name","value":"alice","path":"/"}}'
open_page "/?scope=all"
shot board
open_page /incidents/1
shot war-room
open_page /incidents/1/postmortem
shot postmortem
wd window/rect '{"width":390,"height":1100}'
open_page /incidents/1
shot war-room-phone
curl -sf -XDELETE "$WD/session/$sid" >/dev/null
