#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>
int main(int argc, char **argv) {
  const char *d = argc > 1 ? argv[1] : "/data";
  char p[256];
  snprintf(p, sizeof p, "%s/in.txt", d);
  FILE *f = fopen(p, "r");
  if (!f) { printf("open in: %s\n", strerror(errno)); return 10; }
  char buf[128] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  printf("read %zu: %s\n", n, buf);
  snprintf(p, sizeof p, "%s/sub", d);
  if (mkdir(p, 0755) != 0) printf("mkdir: %s\n", strerror(errno));
  snprintf(p, sizeof p, "%s/sub/out.txt", d);
  f = fopen(p, "w");
  if (!f) { printf("open out: %s\n", strerror(errno)); return 11; }
  fprintf(f, "written %d\n", 42);
  fclose(f);
  f = fopen(p, "a"); fprintf(f, "appended\n"); fclose(f);
  struct stat st; stat(p, &st); printf("size %lld\n", (long long)st.st_size);
  DIR *dir = opendir(d);
  struct dirent *e; int cnt = 0;
  while ((e = readdir(dir))) { printf("entry %s\n", e->d_name); cnt++; }
  closedir(dir);
  char p2[256]; snprintf(p2, sizeof p2, "%s/sub/moved.txt", d);
  if (rename(p, p2)) printf("rename: %s\n", strerror(errno));
  if (unlink(p2)) printf("unlink: %s\n", strerror(errno));
  snprintf(p, sizeof p, "%s/sub", d);
  if (rmdir(p)) printf("rmdir: %s\n", strerror(errno));
  f = fopen("/etc/passwd", "r"); printf("passwd: %s\n", f ? "OPENED!" : strerror(errno));
  snprintf(p, sizeof p, "%s/../../etc/passwd", d);
  f = fopen(p, "r"); printf("dotdot: %s\n", f ? "OPENED!" : strerror(errno));
  printf("env HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(none)");
  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); printf("time ok %d\n", ts.tv_sec > 0);
  usleep(1000);
  return 0;
}
