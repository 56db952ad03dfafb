#!/usr/bin/env bash
# Install the peer servers and tools that interop/ and bench/ start on loopback
# (Debian 12 packages):
#   postfix                for smtp-source / smtp-sink only: installed with debconf
#                          "No configuration", so no main.cf and no daemon on port 25
#   dovecot-imapd, -lmtpd, -managesieved, -sieve
#                          run as private instances by interop/providers/dovecot.py
#   Cyrus IMAP             NOT installed (Debian's cyrus-common conflicts with
#                          imap-server: installing it would remove dovecot-imapd);
#                          its packages are fetched with apt-get download and unpacked
#                          into a cache by interop/providers/cyrus.py, nothing installed
#
#   scripts/install-peers.sh           the packages above, then the Cyrus cache
#   scripts/install-peers.sh PKG...    these packages instead (no Cyrus)
#
# Idempotent: when every package is installed already, apt is not run at all.
# No system service starts: while apt runs, /usr/sbin/policy-rc.d denies every
# start (an existing policy that already denies is left as it is; one that does
# not is put back afterwards), and on a systemd machine the packaged dovecot and
# postfix units are disabled.
set -euo pipefail

PACKAGES=(postfix dovecot-imapd dovecot-lmtpd dovecot-managesieved dovecot-sieve)
FETCH_CYRUS=1
if [ $# -gt 0 ]; then PACKAGES=("$@"); FETCH_CYRUS=0; fi
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)

# Cyrus: download and unpack only (a few MB, seconds); never apt-get install.
fetch_cyrus() {
  [ "$FETCH_CYRUS" = 1 ] || return 0
  if [ -x "$CHECKOUT/.venv/bin/python" ]; then
    (cd "$CHECKOUT" && .venv/bin/python -m interop.providers.cyrus) ||
      echo "Cyrus not fetched (the provider fetches it on first use)" >&2
  else
    echo "no .venv yet: Cyrus is fetched on first use of interop/providers/cyrus.py" >&2
  fi
}

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "peers already installed: ${PACKAGES[*]}"
  fetch_cyrus
  exit 0
fi
echo "installing: ${missing[*]}"

# invoke-rc.d asks /usr/sbin/policy-rc.d before starting a service; 101 = "action not
# allowed" (Debian policy-rc.d interface).
POLICY=/usr/sbin/policy-rc.d
saved_policy=""
restore_policy() {
  if [ -n "$saved_policy" ]; then
    $SUDO mv -f "$saved_policy" "$POLICY"
  elif [ -f "$POLICY" ] && grep -q 'rfcmail install-peers' "$POLICY"; then
    $SUDO rm -f "$POLICY"
  fi
}
policy_denies=0
if [ -x "$POLICY" ]; then
  status=0; "$POLICY" dovecot start >/dev/null 2>&1 || status=$?
  [ "$status" = 101 ] && policy_denies=1
fi
if [ "$policy_denies" = 0 ]; then
  if [ -e "$POLICY" ]; then
    saved_policy="$POLICY.rfcmail-saved"
    $SUDO cp -p "$POLICY" "$saved_policy"
  fi
  trap restore_policy EXIT
  printf '#!/bin/sh\n# temporary, from rfcmail install-peers.sh\nexit 101\n' \
    | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
fi

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

# The packaged units would start at the next boot: the providers run their own instances.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in dovecot postfix; do
    if systemctl is-enabled "$unit" >/dev/null 2>&1; then
      $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
  done
fi
dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}"
fetch_cyrus
