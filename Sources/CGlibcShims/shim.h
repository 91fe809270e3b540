#pragma once
// glibc functions the Glibc module does not export, declared as glibc declares them. No system header is
// included: a shim that includes one takes over its declarations in release (whole-module) builds.

// <malloc.h>: returns free heap memory to the kernel; 1 if some was released. (size_t is unsigned long on
// every 64-bit Linux this builds for.)
int malloc_trim(unsigned long pad);

// <sys/auxv.h>: a value of the auxiliary vector the kernel gave this process at exec (AT_PHDR, AT_PHNUM:
// where the executable's program headers are mapped, and how many); 0 when there is none.
unsigned long getauxval(unsigned long type);

// <sys/prctl.h>: operations on this process; PR_SET_THP_DISABLE (41) with 1 keeps its memory off
// transparent huge pages, PR_GET_THP_DISABLE (42) says whether it is. glibc declares it variadic, which Swift
// cannot call; on x86-64 and arm64 Linux a variadic call passes these integer arguments in the same
// registers as this fixed declaration.
int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);
