// By default glibc shrinks each thread's heap as soon as its free top passes a small threshold
// and grows it again on the next allocation: an mprotect call and fresh page faults each time.
// A cached run of 1,000 steps made about 3,000 such calls, a tenth of its CPU time in `perf`;
// with a 16 MB pad and a 64 MB trim threshold it makes about 70. The cost: up to that much freed
// memory stays with the process until it exits. Setting any of these turns off glibc's sliding
// mmap threshold (which would otherwise stay at 128 KB), so it is fixed too: blocks of 4 MB and
// more are mapped on their own and given back when freed. Swift's Glibc module does not import
// <malloc.h>, hence this file.

#include "aiv_allocator.h"

#include <stdlib.h>  // defines __GLIBC__ with glibc

#ifdef __GLIBC__
#include <malloc.h>
#endif

void aiv_keep_freed_memory(void) {
#ifdef __GLIBC__
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}
