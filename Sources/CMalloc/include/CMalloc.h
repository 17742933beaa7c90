// glibc's malloc.h (mallinfo2, malloc_trim), which Swift's Glibc module leaves out.
#pragma once
#if defined(__linux__)
#include <malloc.h>
#endif
