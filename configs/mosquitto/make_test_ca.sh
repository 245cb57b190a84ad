#!/usr/bin/env bash
# Make a throw-away CA, a broker certificate and one client certificate for testing TLS.
#   bash configs/mosquitto/make_test_ca.sh OUTDIR [SERVER_NAME ...]
# The server certificate is valid for localhost, 127.0.0.1, "broker" (the compose service) and any
# SERVER_NAME given. Not for production: the CA key lies unencrypted next to the certificates.
set -euo pipefail
out="${1:?usage: make_test_ca.sh OUTDIR [SERVER_NAME ...]}"
shift
mkdir -p "$out"
cd "$out"
umask 077

san="DNS:localhost,IP:127.0.0.1,DNS:broker"
for name in "$@"; do san="$san,DNS:$name"; done

# EC P-256 keys: as strong as RSA-3072 and generated instantly.
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -days 30 \
    -keyout ca.key -out ca.crt -subj "/CN=crowd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

make_cert() {  # name subject extended-key-usage [subjectAltName]
    local name="$1" subj="$2" eku="$3" alt="${4:-}"
    local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$eku"
    [ -n "$alt" ] && ext="$ext
subjectAltName=$alt"
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 30 \
        -out "$name.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
    rm -f "$name.csr"
}

make_cert server "/CN=broker" serverAuth "$san"
make_cert client "/CN=crowd test client" clientAuth
# Certificates are public; the broker (often another uid in a container) must read them.
chmod 644 ca.crt server.crt client.crt
echo "make_test_ca: CA, server and client certificates in $(pwd)"
