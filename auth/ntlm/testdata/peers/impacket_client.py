#!/usr/bin/python3
"""impacket as an independent NTLMv2 client for our acceptor.

Usage: impacket_client.py MODE DOMAIN USER PASSWORD SEQ MESSAGE_B64
  MODE datagram:   reads the CHALLENGE (base64) on stdin.
  MODE connection: first prints "NEG <b64>" (impacket's NEGOTIATE), then reads
                   the CHALLENGE (base64 line) on stdin.
Then prints "AUTH <b64>", "KEY <exported session key hex>" and
"MAC <signature hex>": impacket's ntlm.MAC over MESSAGE with the client keys
and the negotiated flags. In datagram mode the RC4 is fresh per message and
keyed with MD5(SealingKey || SeqNum) (MS-NLMP 3.4.4); in connection mode it is
the session's stream keyed with the SealingKey.

impacket 0.10 writes wrong AUTHENTICATE offsets when NEGOTIATE_VERSION is set,
so VERSION and the OEM_*_SUPPLIED bits are cleared from the NEGOTIATE flags.
Run with /usr/bin/python3 (Debian's impacket).
"""
import base64
import hashlib
import struct
import sys

from Cryptodome.Cipher import ARC4
from impacket import ntlm

mode, domain, user, password, seq, msg_b64 = sys.argv[1:7]
seq = int(seq)
msg = base64.b64decode(msg_b64)

t1 = ntlm.getNTLMSSPType1('', '', signingRequired=True, use_ntlmv2=True)
t1['flags'] &= ~0x02003000
if mode == 'connection':
    print('NEG ' + base64.b64encode(t1.getData()).decode(), flush=True)
chal = base64.b64decode(sys.stdin.readline().strip())
ch = ntlm.NTLMAuthChallenge(chal)
if mode == 'datagram':
    t1['flags'] = ch['flags'] & ~0x02003000
t3, exported = ntlm.getNTLMSSPType3(t1, chal, user, password, domain, use_ntlmv2=True)
flags = t3['flags']
signkey = ntlm.SIGNKEY(flags, exported)
sealkey = ntlm.SEALKEY(flags, exported)
if flags & ntlm.NTLMSSP_NEGOTIATE_DATAGRAM:
    rc4 = ARC4.new(hashlib.md5(sealkey + struct.pack('<I', seq)).digest()).encrypt
else:
    rc4 = ARC4.new(sealkey).encrypt
sig = ntlm.MAC(flags, rc4, signkey, seq, msg).getData()
print('AUTH ' + base64.b64encode(t3.getData()).decode())
print('KEY ' + exported.hex())
print('MAC ' + sig.hex(), flush=True)
