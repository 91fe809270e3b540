#pragma once
#include <stdint.h>

// openat2(2), which glibc 2.36 does not wrap: opens `path` relative to the directory `dirfd` with `flags`
// (O_*) and `mode`, resolving it as `resolve` (RESOLVE_*) says. Returns the descriptor, or -1 with errno set
// (ENOSYS on a kernel before 5.6, or where a seccomp filter hides the call).
int copenat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: every name resolved inside `dirfd` (a link that leads out of it,
// absolute or through `..`, fails with EXDEV), and no /proc magic link followed.
uint64_t copenat2_beneath(void);
