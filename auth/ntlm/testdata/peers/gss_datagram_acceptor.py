#!/usr/bin/python3
"""gss-ntlmssp as an independent connectionless (datagram) NTLM acceptor.

Line protocol on stdin/stdout (base64 payloads), driven by
auth/ntlm/gssntlmssp_peer_test.go:

  (start)            -> "CHALLENGE <b64>"     gss-ntlmssp's CHALLENGE for an empty first token
  "AUTH <b64>"       -> "OK <key hex> <ret_flags hex>" | "ERR <major hex> <minor>"
  "VERIFY <msg> <sig>" -> "VERIFY <major hex>" (0 = GSS_S_COMPLETE)
  "MIC <msg>"        -> "MIC <sig b64>"       acceptor-side signature (gss_get_mic)

MIT mechglue cannot route an empty first token (which is how gss-ntlmssp is
told to use datagram mode), so the plugin's exported entry points are called
directly with ctypes. Users come from NTLM_USER_FILE (DOMAIN:user:password).
gss-ntlmssp 1.2.0 signs and verifies datagram MACs at sequence number 0 only.
Run with /usr/bin/python3 (Debian's interpreter).
"""
import base64
import ctypes as C
import sys

PLUGIN = sys.argv[1] if len(sys.argv) > 1 else '/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so'
lib = C.CDLL(PLUGIN, mode=C.RTLD_LOCAL)


class Buf(C.Structure):
    _fields_ = [('length', C.c_size_t), ('value', C.c_void_p)]


class OID(C.Structure):
    _fields_ = [('length', C.c_uint32), ('elements', C.c_void_p)]


class BufSet(C.Structure):
    _fields_ = [('count', C.c_size_t), ('elements', C.POINTER(Buf))]


keep = []  # keeps ctypes buffers alive


def mkbuf(b):
    s = C.create_string_buffer(b, len(b))
    keep.append(s)
    return Buf(len(b), C.cast(s, C.c_void_p))


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


minor = C.c_uint32()
ctx = C.c_void_p()
name = C.c_void_p()
mech = C.c_void_p()
ret_flags = C.c_uint32()
time_rec = C.c_uint32()
deleg = C.c_void_p()


def accept(token):
    ob = Buf()
    ib = mkbuf(token)
    major = lib.gss_accept_sec_context(C.byref(minor), C.byref(ctx), None, C.byref(ib), None,
                                       C.byref(name), C.byref(mech), C.byref(ob), C.byref(ret_flags),
                                       C.byref(time_rec), C.byref(deleg))
    return major, C.string_at(ob.value, ob.length) if ob.length else b''


major, chal = accept(b'')
if major not in (0, 1):  # GSS_S_COMPLETE or GSS_S_CONTINUE_NEEDED
    out('ERR %x %d' % (major, minor.value))
    sys.exit(1)
out('CHALLENGE ' + base64.b64encode(chal).decode())

# GSS_C_INQ_SSPI_SESSION_KEY 1.2.840.113554.1.2.2.5.5
SK = bytes([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x05, 0x05])

for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    cmd = parts[0]
    if cmd == 'AUTH':
        major, _ = accept(base64.b64decode(parts[1]))
        if major != 0:
            out('ERR %x %d' % (major, minor.value))
            continue
        ob = mkbuf(SK)
        oid = OID(len(SK), ob.value)
        bs = C.POINTER(BufSet)()
        m = lib.gss_inquire_sec_context_by_oid(C.byref(minor), ctx, C.byref(oid), C.byref(bs))
        if m != 0:
            out('ERR %x %d' % (m, minor.value))
            continue
        key = C.string_at(bs.contents.elements[0].value, bs.contents.elements[0].length)
        out('OK %s %x' % (key.hex(), ret_flags.value))
    elif cmd == 'VERIFY':
        msg, sig = mkbuf(base64.b64decode(parts[1])), mkbuf(base64.b64decode(parts[2]))
        qop = C.c_uint32()
        out('VERIFY %x' % lib.gss_verify_mic(C.byref(minor), ctx, C.byref(msg), C.byref(sig), C.byref(qop)))
    elif cmd == 'MIC':
        msg = mkbuf(base64.b64decode(parts[1]))
        tok = Buf()
        m = lib.gss_get_mic(C.byref(minor), ctx, 0, C.byref(msg), C.byref(tok))
        if m != 0:
            out('ERR %x %d' % (m, minor.value))
            continue
        out('MIC ' + base64.b64encode(C.string_at(tok.value, tok.length)).decode())
    else:
        out('ERR unknown-command 0')
