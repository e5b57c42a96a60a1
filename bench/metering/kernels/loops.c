// Nested loops with integer arithmetic and a data-dependent branch.
__attribute__((export_name("run"))) int run(int reps) {
  unsigned acc = 0;
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < 100; i++)
      for (int j = 0; j < 100; j++)
        for (int k = 0; k < 10; k++) {
          unsigned v = (unsigned)(i * j + k) ^ acc;
          if (v & 1) acc += v >> 3; else acc ^= v * 2654435761u;
        }
  return (int)acc;
}
