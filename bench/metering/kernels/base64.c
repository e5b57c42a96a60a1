// Base64 encode then decode a 64 KiB buffer, `reps` times; returns a checksum of the round trip.
#define LEN 65536
static unsigned char in[LEN], out[LEN], enc[LEN / 3 * 4 + 8];
static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static unsigned char D[256];

static int encode(const unsigned char *s, int n, unsigned char *o) {
  int j = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (s[i] << 16) | (s[i + 1] << 8) | s[i + 2];
    o[j++] = T[v >> 18]; o[j++] = T[(v >> 12) & 63]; o[j++] = T[(v >> 6) & 63]; o[j++] = T[v & 63];
  }
  if (i < n) {
    unsigned v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0);
    o[j++] = T[v >> 18]; o[j++] = T[(v >> 12) & 63];
    o[j++] = i + 1 < n ? T[(v >> 6) & 63] : '='; o[j++] = '=';
  }
  return j;
}

static int decode(const unsigned char *s, int n, unsigned char *o) {
  int j = 0;
  for (int i = 0; i < n; i += 4) {
    unsigned v = (D[s[i]] << 18) | (D[s[i + 1]] << 12) | (D[s[i + 2]] << 6) | D[s[i + 3]];
    o[j++] = v >> 16;
    if (s[i + 2] != '=') o[j++] = (v >> 8) & 255;
    if (s[i + 3] != '=') o[j++] = v & 255;
  }
  return j;
}

__attribute__((export_name("run"))) int run(int reps) {
  for (int i = 0; i < 64; i++) D[(unsigned char)T[i]] = i;
  unsigned x = 12345;
  for (int i = 0; i < LEN; i++) { x = x * 1103515245u + 12345u; in[i] = x >> 24; }
  int sum = 0;
  for (int r = 0; r < reps; r++) {
    int n = encode(in, LEN - (r & 1), enc);
    int m = decode(enc, n, out);
    sum += m + out[r % m] + enc[r % n];
  }
  return sum;
}
