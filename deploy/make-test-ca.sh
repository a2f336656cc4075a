#!/usr/bin/env bash
# Makes a throw-away certificate authority and certificates for trying
# mutual TLS with openssl: NOT for production (keys are unencrypted, the CA
# lives beside them).
#
#   deploy/make-test-ca.sh DIR [--server-name NAME] [CLIENT_CN ...]
#
# Writes into DIR:
#   ca.pem, ca.key            the CA (give ca.pem to the coordinator as
#                             --tls-client-ca and to clients as --tls-ca)
#   server.pem, server.key    the coordinator's certificate for NAME
#                             (default localhost; 127.0.0.1 is always in it)
#   CN.pem, CN.key            one client certificate per CLIENT_CN, for
#                             agents and workers (--tls-cert, --tls-key)
# and prints the auth-file lines to fill in: "ROLE cert:CN".
# Running it again keeps an existing CA and re-issues the certificates.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [--server-name NAME] [CLIENT_CN ...]" >&2
  exit 2
fi
dir="$1"; shift
server_name=localhost
if [ "${1:-}" = "--server-name" ]; then
  [ $# -ge 2 ] || { echo "--server-name needs a value" >&2; exit 2; }
  server_name="$2"; shift 2
fi
command -v openssl >/dev/null || { echo "openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
umask 077
days=30

if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "/CN=HAKD farm test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
fi

# issue NAME CN EXT: a key and a certificate signed by the CA.
issue() {
  local name="$1" cn="$2" ext="$3"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days "$days" -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

san="DNS:$server_name,IP:127.0.0.1"
case "$server_name" in *[!0-9.]*) ;; *) san="IP:$server_name,IP:127.0.0.1" ;; esac
issue server "$server_name" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san"

for cn in "$@"; do
  case "$cn" in
    *[!A-Za-z0-9._:@-]*|"") echo "client CN '$cn': use letters, digits and . _ - : @" >&2; exit 2 ;;
  esac
  issue "$cn" "$cn" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
done

echo "CA and certificates in $dir"
echo "coordinator: --tls-cert $dir/server.pem --tls-key $dir/server.key --tls-client-ca $dir/ca.pem"
for cn in "$@"; do
  echo "client $cn: --tls-ca $dir/ca.pem --tls-cert $dir/$cn.pem --tls-key $dir/$cn.key"
  echo "  auth line: ROLE cert:$cn   (agent: add device=NAME to bind it to one device)"
done
