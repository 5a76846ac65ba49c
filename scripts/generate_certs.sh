#!/usr/bin/env bash
# Makes a development CA, a server certificate for localhost and 127.0.0.1,
# and a client certificate, with openssl, in the directory given (default
# ./certs). All are X.509 v3 with the key usages Deno and Node check: Deno
# refuses v1 client certificates, and a client certificate needs
# extendedKeyUsage=clientAuth. For development and tests only: the keys are
# not encrypted and the CA is valid for any name.
set -euo pipefail

dir="${1:-certs}"
days=825
mkdir -p "$dir"
cd "$dir"

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -keyout ca.key -out ca.pem -subj "/CN=PulseCheckpoint development CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() { # name, subject, extensions
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

issue server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

issue client "/CN=pulse-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

rm -f ca.srl
chmod 600 ./*.key
echo "wrote $(pwd)/{ca,server,client}.pem and their .key files"
