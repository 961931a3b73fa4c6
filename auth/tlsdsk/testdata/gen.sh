#!/bin/sh
# Regenerates the test PKI with openssl (an independent stack). Run from testdata/.
set -e
days=7300
mk() { # name subj issuer-prefix extfile
  openssl req -new -newkey rsa:2048 -nodes -keyout $1.key -subj "$2" -out $1.csr 2>/dev/null
  openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -days $days -sha256 -extfile $4 -out $1.crt 2>/dev/null
  rm -f $1.csr
}
for ca in ca otherca; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -subj "/CN=handset test $ca" -days $days -sha256 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out $ca.crt 2>/dev/null
done
printf 'subjectAltName=DNS:fe.lab.test\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > user.ext
mk server "/CN=fe.lab.test" ca server.ext
mk user "/CN=alice@lab.test" ca user.ext
mk rogue "/CN=alice@lab.test" otherca user.ext
rm -f *.ext *.srl
