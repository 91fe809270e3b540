#pragma once
// glibc functions the Glibc module does not export, declared as glibc declares them. No system header is
// included: a shim that includes one takes over its declarations in release (whole-module) builds.

// <malloc.h>: returns free heap memory to the kernel; 1 if some was released. (size_t is unsigned long on
// every 64-bit Linux this builds for.)
int malloc_trim(unsigned long pad);

// <sys/auxv.h>: a value of the auxiliary vector the kernel gave this process at exec (AT_PHDR, AT_PHNUM:
// where the executable's program headers are mapped, and how many); 0 when there is none.
unsigned long getauxval(unsigned long type);
