#!/bin/sh
# Regenerates the test PKI with openssl. Run from testdata/.
set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj "/CN=handset certprov test CA" -days 7300 -sha256 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt 2>/dev/null
openssl genrsa -out user.key 2048 2>/dev/null
openssl genrsa -out other.key 2048 2>/dev/null
