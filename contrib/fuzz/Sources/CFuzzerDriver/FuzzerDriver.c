// The module needs one source file; the declaration in the header is all there is.
#include "FuzzerDriver.h"
