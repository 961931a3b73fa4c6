/* libsrtp2 peer harness for the SRTP interop tests and benchmark (internal/peers/libsrtp).
 * Written for this project from the libsrtp2 2.5 public API (srtp2/srtp.h).
 * Suite: AES_CM_128_HMAC_SHA1_80 for SRTP and SRTCP (the Lync SDES suite).
 *
 *   harness protect|unprotect|protect_rtcp|unprotect_rtcp KEYS < hex packets, one per line
 *       prints one line per input: the output packet in hex, or "ERR <srtp_err_status_t>"
 *   harness bench N PAYLOAD_LEN KEYS
 *       protects N RTP packets, then unprotects them; prints
 *       "protect_ns=<ns/pkt> unprotect_ns=<ns/pkt> version=<libsrtp version>"
 *
 * KEYS is KEYSALT_HEX (30 bytes: 16 key + 14 salt, no MKI) or a comma-separated
 * list KEYSALT_HEX/MKI_HEX,... (several master keys by MKI; protect uses the
 * first). Build: gcc -O2 -o harness harness.c $(pkg-config --cflags --libs libsrtp2) */
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXKEYS 8
static unsigned char keybuf[MAXKEYS][30], mkibuf[MAXKEYS][16];
static srtp_master_key_t mk[MAXKEYS];
static srtp_master_key_t *mkp[MAXKEYS];

static int unhex(const char *h, int hlen, unsigned char *out, int max) {
    int n = 0;
    for (int i = 0; i + 1 < hlen && n < max; i += 2) {
        unsigned v;
        if (sscanf(h + i, "%2x", &v) != 1) return -1;
        out[n++] = (unsigned char)v;
    }
    return n;
}

/* parse KEYS into the policy; returns 1 when MKIs are in use */
static int keys(const char *spec, srtp_policy_t *p) {
    int n = 0, use_mki = strchr(spec, '/') != NULL;
    const char *s = spec;
    while (*s && n < MAXKEYS) {
        const char *end = strchr(s, ','); if (!end) end = s + strlen(s);
        const char *slash = memchr(s, '/', end - s);
        const char *kend = slash ? slash : end;
        if (unhex(s, kend - s, keybuf[n], 30) != 30) { fprintf(stderr, "key must be 30 bytes hex\n"); exit(2); }
        if (use_mki) {
            if (!slash) { fprintf(stderr, "all keys need an MKI\n"); exit(2); }
            mk[n].key = keybuf[n];
            mk[n].mki_id = mkibuf[n];
            mk[n].mki_size = unhex(slash + 1, end - slash - 1, mkibuf[n], 16);
            mkp[n] = &mk[n];
        }
        n++;
        s = *end ? end + 1 : end;
    }
    if (use_mki) { p->keys = mkp; p->num_master_keys = n; }
    else p->key = keybuf[0];
    return use_mki;
}

static srtp_t session(const char *spec, int inbound, int *use_mki) {
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    *use_mki = keys(spec, &p);
    p.window_size = 128;
    p.allow_repeat_tx = 0;
    srtp_t s;
    srtp_err_status_t e = srtp_create(&s, &p);
    if (e) { fprintf(stderr, "srtp_create: %d\n", e); exit(2); }
    return s;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int bench(int n, int plen, const char *spec) {
    int use_mki, stride = 12 + plen + SRTP_MAX_TRAILER_LEN;
    srtp_t tx = session(spec, 0, &use_mki), rx = session(spec, 1, &use_mki);
    unsigned char *pk = calloc((size_t)n, stride);
    int *lens = calloc((size_t)n, sizeof(int));
    if (!pk || !lens) return 2;
    for (int i = 0; i < n; i++) {
        unsigned char *b = pk + (size_t)i * stride;
        b[0] = 0x80; b[2] = (i >> 8) & 0xff; b[3] = i & 0xff;
        b[8] = 0xde; b[9] = 0xad; b[10] = 0xbe; b[11] = 0xef;
        lens[i] = 12 + plen;
    }
    double a = now();
    for (int i = 0; i < n; i++) {
        srtp_err_status_t e = srtp_protect_mki(tx, pk + (size_t)i * stride, &lens[i], use_mki, 0);
        if (e) { fprintf(stderr, "protect %d: %d\n", i, e); return 1; }
    }
    double b = now();
    for (int i = 0; i < n; i++) {
        srtp_err_status_t e = srtp_unprotect_mki(rx, pk + (size_t)i * stride, &lens[i], use_mki);
        if (e) { fprintf(stderr, "unprotect %d: %d\n", i, e); return 1; }
    }
    double c = now();
    printf("protect_ns=%.1f unprotect_ns=%.1f version=%s\n", (b - a) / n * 1e9, (c - b) / n * 1e9,
           srtp_get_version_string());
    return 0;
}

int main(int argc, char **argv) {
    static unsigned char buf[4096];
    static char line[9000];
    int use_mki;
    if (srtp_init()) return 2;
    if (argc == 5 && !strcmp(argv[1], "bench")) return bench(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (argc != 3) { fprintf(stderr, "usage: see harness.c\n"); return 2; }
    int inbound = !strncmp(argv[1], "unprotect", 9), rtcp = strstr(argv[1], "rtcp") != NULL;
    srtp_t s = session(argv[2], inbound, &use_mki);
    while (fgets(line, sizeof line, stdin)) {
        int hl = (int)strcspn(line, "\r\n");
        int len = unhex(line, hl, buf, (int)sizeof buf - SRTP_MAX_TRAILER_LEN);
        if (len <= 0) { printf("ERR -1\n"); fflush(stdout); continue; }
        srtp_err_status_t e;
        if (!inbound)
            e = rtcp ? srtp_protect_rtcp_mki(s, buf, &len, use_mki, 0) : srtp_protect_mki(s, buf, &len, use_mki, 0);
        else
            e = rtcp ? srtp_unprotect_rtcp_mki(s, buf, &len, use_mki) : srtp_unprotect_mki(s, buf, &len, use_mki);
        if (e) { printf("ERR %d\n", e); fflush(stdout); continue; }
        for (int i = 0; i < len; i++) printf("%02x", buf[i]);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
