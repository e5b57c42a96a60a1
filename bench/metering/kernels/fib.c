// Naive recursive Fibonacci: call-heavy (every call is a metered function entry + stack check).
__attribute__((noinline)) static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((export_name("run"))) int run(int n) { return fib(n); }
