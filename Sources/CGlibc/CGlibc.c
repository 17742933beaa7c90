// The module's header is all there is; SwiftPM wants a source file for a C target.
#include "CGlibc.h"
