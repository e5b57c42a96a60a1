// Dense double-precision matrix multiply C = A * B (n x n), `reps` times.
#define N 96
static double A[N * N], B[N * N], C[N * N];

__attribute__((export_name("run"))) int run(int reps) {
  for (int i = 0; i < N * N; i++) {
    A[i] = (double)(i % 17) * 0.5 - 3.0;
    B[i] = (double)(i % 13) * 0.25 + 1.0;
  }
  double sum = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        double acc = 0;
        for (int k = 0; k < N; k++) acc += A[i * N + k] * B[k * N + j];
        C[i * N + j] = acc;
      }
    sum += C[(r * 7) % (N * N)];
  }
  return (int)sum;
}
