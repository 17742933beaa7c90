// glibc's headers that Swift's Glibc module leaves out: malloc.h (mallinfo2, malloc_trim) for
// MemoryReturnService, sys/auxv.h (getauxval) for ExecutablePages.
#pragma once
#if defined(__linux__)
#include <malloc.h>
#include <sys/auxv.h>
#endif
