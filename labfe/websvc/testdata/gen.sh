#!/bin/sh
# Regenerates the test PKI with openssl. Run from testdata/.
set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj "/CN=labfe websvc test CA" -days 7300 -sha256 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt 2>/dev/null
printf 'subjectAltName=DNS:fe.lab.test\nextendedKeyUsage=serverAuth\n' > server.ext
openssl req -new -newkey rsa:2048 -nodes -keyout fe.key -subj "/CN=fe.lab.test" -out fe.csr 2>/dev/null
openssl x509 -req -in fe.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7300 -sha256 -extfile server.ext -out fe.crt 2>/dev/null
openssl genrsa -out user.key 2048 2>/dev/null
rm -f fe.csr server.ext ca.srl
