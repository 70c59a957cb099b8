/* bench-exec - runs one baseline command (gpg, sq, a Zammad-way script) and reports its wall
 * time and peak RSS: "<nanoseconds> <maxrss KiB> <exit status>" in the --result file.
 *
 * Why a program of its own: Linux carries a process's peak RSS across fork and exec, so a
 * command forked from the Python driver would report the driver's RSS as its own. Forked from
 * this small process it starts from a few hundred KiB; wait4() then gives the largest RSS of
 * the command and of every process it waited for (a daemonized gpg-agent is not among them).
 *
 *   bench-exec --result FILE [--stdin FILE] [--stdout FILE] -- COMMAND [ARG...] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
redirect(const char *path, int fd, int flags)
{
    if (!path)
        return 0;
    int f = open(path, flags, 0600);
    if (f < 0 || dup2(f, fd) < 0)
        return -1;
    close(f);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *result = NULL, *in = NULL, *out = NULL;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--result") == 0)
            result = argv[i + 1];
        else if (strcmp(argv[i], "--stdin") == 0)
            in = argv[i + 1];
        else if (strcmp(argv[i], "--stdout") == 0)
            out = argv[i + 1];
        else
            break;
    }
    if (!result || i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
        fprintf(stderr, "usage: bench-exec --result FILE [--stdin FILE] [--stdout FILE] -- "
                        "COMMAND [ARG...]\n");
        return 2;
    }
    char **cmd = argv + i + 1;
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench-exec: fork");
        return 2;
    }
    if (pid == 0) {
        if (redirect(in ? in : "/dev/null", 0, O_RDONLY) ||
            redirect(out ? out : "/dev/null", 1, O_WRONLY | O_CREAT | O_TRUNC)) {
            perror("bench-exec: redirect");
            _exit(127);
        }
        execvp(cmd[0], cmd);
        perror("bench-exec: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("bench-exec: wait4");
        return 2;
    }
    long long elapsed = now_ns() - t0;
    FILE *f = fopen(result, "w");
    if (!f) {
        perror("bench-exec: result");
        return 2;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(f, "%lld %ld %d\n", elapsed, usage.ru_maxrss, code);
    fclose(f);
    return 0;
}
