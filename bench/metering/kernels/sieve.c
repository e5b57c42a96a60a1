// Sieve of Eratosthenes: count the primes below n, `reps` times.
#define MAXN 1000000
static unsigned char composite[MAXN];

__attribute__((export_name("run"))) int run(int reps) {
  int count = 0;
  for (int r = 0; r < reps; r++) {
    int n = MAXN;
    for (int i = 0; i < n; i++) composite[i] = 0;
    count = 0;
    for (int i = 2; i < n; i++) {
      if (composite[i]) continue;
      count++;
      for (long long j = (long long)i * i; j < n; j += i) composite[j] = 1;
    }
  }
  return count;
}
