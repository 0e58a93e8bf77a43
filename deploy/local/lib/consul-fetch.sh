#!/usr/bin/env bash
# consul-fetch.sh DEST: puts Debian 11 (bullseye)'s `consul` 1.8.7 (a static Go binary) at
# DEST/usr/bin/consul without touching the system's apt configuration or needing root.
#
# Consul is not in Debian 12. We point apt at a private sources file naming `bullseye main`
# on the same archive URI this machine's apt sources already use (never a hard-coded host),
# with private lists/cache dirs, `apt-get download` the .deb and `dpkg -x` it into DEST.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEST=${1:?usage: consul-fetch.sh DEST_DIR}
SUITE=${SHOAL_CONSUL_SUITE:-bullseye}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APT_ETC=${SHOAL_APT_ETC:-/etc/apt} # overridable only to test the parsing below

# Prints "suite<TAB>uri" for every enabled `deb` source of this machine.
apt_source_entries() {
  local f
  for f in "$APT_ETC"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (match(line, /^[A-Za-z-]+:/)) {
            key = tolower(substr(line, 1, RLENGTH - 1)); val = substr(line, RLENGTH + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
          }
        }
        if (enabled == "no" || types !~ /(^| )deb( |$)/) next
        n = split(uris, u, /[ \t]+/); split(suites, s, /[ \t]+/)
        for (j = 1; j <= n; j++) print s[1] "\t" u[j]
      }' "$f"
  done
  for f in "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { line = $0; sub(/\[[^]]*\]/, "", line); split(line, a, /[ \t]+/); print a[3] "\t" a[2] }' "$f"
  done
}

# Candidate archive URIs, Debian-looking suites first, security archives excluded.
archive_uris() {
  apt_source_entries | awk -F '\t' '
    $2 ~ /security/ || $1 ~ /-security$/ { next }
    $1 ~ /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldstable|stable|testing|unstable)(-updates)?$/ { print "0\t" $2; next }
    { print "1\t" $2 }' | sort -s -t "$(printf '\t')" -k1,1 | cut -f2 | awk '!seen[$0]++'
}

mkdir -p "$(dirname "$DEST")"
WORK=$(mktemp -d "$(dirname "$DEST")/.consul-apt.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial"

signed_by=""
[ -r "$KEYRING" ] && signed_by="[signed-by=$KEYRING] "
apt_opts=(
  -o "Dir::Etc::SourceList=$WORK/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache=$WORK/cache"
  -o APT::Get::List-Cleanup=false
)
# As root apt drops to user _apt for downloads, which cannot write into our private dirs.
apt_sandbox=""
[ "$(id -u)" -eq 0 ] && apt_sandbox=APT::Sandbox::User=root && apt_opts+=(-o "$apt_sandbox")

uris=$(archive_uris)
[ -n "$uris" ] || die "consul: no Debian archive URI found in /etc/apt/sources.list{,.d}; put a consul binary at $CONSUL_PKG_BIN or set SHOAL_CONSUL_BIN"

deb=""
while IFS= read -r uri; do
  say "  consul: looking for $SUITE's consul on $uri"
  printf 'deb %s%s %s main\n' "$signed_by" "$uri" "$SUITE" >"$WORK/sources.list"
  if ! apt-get "${apt_opts[@]}" -qq update >"$WORK/update.log" 2>&1; then
    warn "consul: apt-get update of $uri $SUITE failed: $(grep -E '^(E|W):' "$WORK/update.log" | head -1)"
    continue
  fi
  if (cd "$WORK" && apt-get "${apt_opts[@]}" -qq download consul >"$WORK/download.log" 2>&1); then
    deb=$(ls "$WORK"/consul_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] && break
  fi
  warn "consul: download from $uri failed: $(grep -E '^(E|W):' "$WORK/download.log" | head -1)"
done <<<"$uris"

# Not Debian (e.g. Ubuntu, whose archive has no bullseye): the system's own sources may
# still carry a consul package; download it the same way, still without installing it.
if [ -z "$deb" ] && apt-cache policy consul 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  say "  consul: trying this system's own apt sources"
  (cd "$WORK" && apt-get -qq ${apt_sandbox:+-o "$apt_sandbox"} download consul >"$WORK/download.log" 2>&1) || true
  deb=$(ls "$WORK"/consul_*.deb 2>/dev/null | head -1)
fi

[ -n "$deb" ] || die "consul: could not download Debian $SUITE's consul; put a consul binary at $CONSUL_PKG_BIN or set SHOAL_CONSUL_BIN"

rm -rf "$DEST.new"
dpkg-deb -x "$deb" "$DEST.new"
"$DEST.new/usr/bin/consul" version >/dev/null || die "consul: extracted binary does not run: $DEST.new/usr/bin/consul"
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
say "  consul: $("$DEST/usr/bin/consul" version | head -1) -> $DEST/usr/bin/consul ($(basename "$deb"))"
