#pragma once
// glibc functions the Glibc module does not export, declared as glibc declares them. No system header is
// included: a shim that includes one takes over its declarations in release (whole-module) builds.

// <malloc.h>: returns free heap memory to the kernel; 1 if some was released. (size_t is unsigned long on
// every 64-bit Linux this builds for.)
int malloc_trim(unsigned long pad);

// <sys/auxv.h>: a value of the auxiliary vector the kernel gave this process at exec (AT_SYSINFO_EHDR:
// where the vDSO is mapped); 0 when there is none.
unsigned long getauxval(unsigned long type);

// <sys/prctl.h>: operations on this process; PR_SET_THP_DISABLE (41) with 1 keeps its memory off
// transparent huge pages, PR_GET_THP_DISABLE (42) says whether it is. glibc declares it variadic, which Swift
// cannot call; on x86-64 and arm64 Linux a variadic call passes these integer arguments in the same
// registers as this fixed declaration.
int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);

// <link.h>: calls `callback` with each object the loader mapped (the executable, every library, the vDSO),
// in load order, until it returns nonzero. The structure's first fields as glibc lays them out (the rest,
// which `size` covers, is not read): the load bias, the name ("" for the executable) and the program headers.
struct dl_phdr_info {
    unsigned long dlpi_addr;
    const char *dlpi_name;
    const void *dlpi_phdr;
    unsigned short dlpi_phnum;
};
int dl_iterate_phdr(int (*callback)(struct dl_phdr_info *info, unsigned long size, void *data), void *data);
